package workspace

import (
	"context"
	"errors"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

var _ status.TableScanner = (*Client)(nil)

// TableSize implements status.TableScanner: DescribeTable's figure of the
// results table (about six hours old at most).
func (c *Client) TableSize(ctx context.Context) (status.TableSize, error) {
	bytes, items, err := c.Table.Size(ctx)
	return status.TableSize{Bytes: bytes, Items: items}, err
}

// ScanTable implements status.TableScanner: a parallel Scan of the results
// table (results.Table.ScanPages), eventually consistent.
func (c *Client) ScanTable(ctx context.Context, segments int, page func([]status.ScannedItem, float64) error) error {
	return c.scanTable(ctx, results.ScanOptions{Segments: segments}, page)
}

func (c *Client) scanTable(ctx context.Context, o results.ScanOptions, page func([]status.ScannedItem, float64) error) error {
	return c.Table.ScanPages(ctx, o, func(rs []record.Result, units float64) error {
		items := make([]status.ScannedItem, len(rs))
		for i, r := range rs {
			items[i] = status.ScannedItem{Name: r.Name, Batch: r.Batch, Stamp: r.Stamp, OK: r.Status == record.StatusOK}
		}
		return page(items, units)
	})
}

// Consistent is the workspace as a status.Source whose reads of the
// results table are strongly consistent, for a final account: "When
// issuing eventually consistent reads to a DynamoDB table ... the
// responses may not reflect the results of a recently completed write
// operation" ("DynamoDB read consistency", DynamoDB Developer Guide), so an
// op stored a moment before could read as missing, and a last word would
// call it lost. A strongly consistent read "returns a response with the
// most up-to-date data, reflecting the updates from all prior write
// operations that were successful", at twice the units (one per 4 KB).
func (c *Client) Consistent() status.Source { return consistent{c} }

type consistent struct{ *Client }

var _ status.TableScanner = consistent{}

// Stored implements status.Source, strongly consistent.
func (c consistent) Stored(ctx context.Context, names []string) (map[string]record.Result, error) {
	return c.Table.Get(ctx, names)
}

// ScanTable implements status.TableScanner, strongly consistent. It
// reports half the units it read: status.ChooseRead and the scan's budget
// count in eventually consistent units, and both ways double alike.
func (c consistent) ScanTable(ctx context.Context, segments int, page func([]status.ScannedItem, float64) error) error {
	return c.scanTable(ctx, results.ScanOptions{Segments: segments, Consistent: true}, func(items []status.ScannedItem, units float64) error {
		return page(items, units/2)
	})
}

// resultsByScan is Results by a scan of the results table, when
// status.ChooseRead chooses it; done is false when it did not (chosen
// lookups, or a scan stopped at its budget: the lookups follow).
func (c *Client) resultsByScan(ctx context.Context, rep record.Report, fn func(record.Result) error) (done bool, err error) {
	size, err := c.TableSize(ctx)
	plan := status.ChooseRead(rep.Totals.Ops-rep.Totals.Rejected, size)
	if err != nil || !plan.Scan {
		return false, nil // no figure (a hint): the lookups
	}
	return c.scanResults(ctx, rep, plan, fn)
}

// scanResults scans the results table as plan says, and calls fn for the
// items that hold rep's batch's result once the scan is complete.
func (c *Client) scanResults(ctx context.Context, rep record.Report, plan status.ReadPlan, fn func(record.Result) error) (done bool, err error) {
	var list []record.Result
	units := 0.0
	err = c.Table.ScanPages(ctx, results.ScanOptions{Segments: plan.Segments, Full: true}, func(rs []record.Result, u float64) error {
		if units += u; units > plan.Budget {
			return errOverBudget
		}
		for _, r := range rs {
			if r.Batch == rep.Batch {
				list = append(list, r)
			}
		}
		return nil
	})
	if errors.Is(err, errOverBudget) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range list {
		if err := fn(r); err != nil {
			return true, err
		}
	}
	return true, nil
}

var errOverBudget = errors.New("the scan read more than the lookups would")
