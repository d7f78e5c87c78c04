package workspace

import (
	"context"

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
// table (results.Table.ScanPages).
func (c *Client) ScanTable(ctx context.Context, segments int, page func([]status.ScannedItem, float64) error) error {
	return c.Table.ScanPages(ctx, segments, func(rs []record.Result, units float64) error {
		items := make([]status.ScannedItem, len(rs))
		for i, r := range rs {
			items[i] = status.ScannedItem{Name: r.Name, Batch: r.Batch, Stamp: r.Stamp, OK: r.Status == record.StatusOK}
		}
		return page(items, units)
	})
}
