package workspace_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// A batch's account from the workspace on moto: its counters read from the
// batches table (Counts), its results read by names (Results: the object's
// names looked up, keeping those that hold its result), and status closing
// the account from the counters or, asked, by names, to the same numbers.
func TestCountsAndResultsByNames(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "counts")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := workspace.New(cfg, res)

	const key = "batches/w.jsonl"
	batch, stamp, t0 := putSplitBatch(ctx, t, c, key, "a", "b", "c", "d")
	// a ok, b error: this upload's; c a newer upload's; d never stored.
	one := record.Number(1)
	for _, r := range []record.Result{
		{Name: "a", Op: "1", Status: record.StatusOK, Value: &one, Batch: batch, Stamp: stamp, ComputedAt: t0},
		{Name: "b", Op: "2", Status: record.StatusError, Error: "bad", Batch: batch, Stamp: stamp, ComputedAt: t0},
		{Name: "c", Op: "3", Status: record.StatusOK, Value: &one, Batch: "batches/x.json@v9", Stamp: record.NewStamp(t0.Add(time.Minute), "0B", "batches/x.json@v9"), ComputedAt: t0},
	} {
		if err := c.Table.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Batches.Add(ctx, []compute.Tally{{Batch: batch, Stamp: stamp, OK: 1, Error: 1, Superseded: 1}}); err != nil {
		t.Fatal(err)
	}

	counts, err := c.Counts(ctx, batch)
	if err != nil || counts != (status.Counts{OK: 1, Error: 1, Superseded: 1}) {
		t.Fatalf("Counts = %+v, %v", counts, err)
	}
	var names []string
	found, err := c.Results(ctx, batch, func(r record.Result) error { names = append(names, r.Name+" "+string(r.Status)); return nil })
	sort.Strings(names)
	if err != nil || !found {
		t.Fatalf("Results: found=%v %v", found, err)
	}
	if diff := cmp.Diff([]string{"a ok", "b error"}, names); diff != "" {
		t.Errorf("Results (-want +got):\n%s", diff)
	}
	// Short by one (d) and settled (split an hour ago, the queue empty):
	// reconciled by names, d lost; asked, the same.
	const line = "total=4 ok=1 error=1 rejected=0 superseded=1 dlq=0 lost=1"
	r, err := status.Reconcile(ctx, c, batch)
	if err != nil || !strings.Contains(r.Line(), line) || r.Reconciled != status.ReasonShort || !r.Settled() {
		t.Fatalf("Reconcile: %s (%v)", r.Line(), err)
	}
	// Counted, d closes the account from the counters alone.
	if err := c.Batches.Add(ctx, []compute.Tally{{Batch: batch, Stamp: stamp, OK: 1}}); err != nil {
		t.Fatal(err)
	}
	r, err = status.Reconcile(ctx, c, batch)
	if err != nil || !strings.Contains(r.Line(), "total=4 ok=2 error=1 rejected=0 superseded=1 dlq=0 lost=0") || r.Reconciled != "" {
		t.Fatalf("Reconcile from the counters: %s (%v)", r.Line(), err)
	}
	r, err = status.ReconcileExact(ctx, c, batch)
	if err != nil || !strings.Contains(r.Line(), line) || r.Reconciled != status.ReasonAsked || r.ReadBy != status.ReadByLookups {
		t.Fatalf("ReconcileExact: %s (%v)", r.Line(), err)
	}
	// The same account read by a parallel scan of the results table, as
	// status chooses it on AWS for a table small next to the batch (moto's
	// DescribeTable reports no bytes, so the figure is given here).
	r, err = status.ReconcileExact(ctx, smallTable{c}, batch)
	if err != nil || !strings.Contains(r.Line(), line) || r.ReadBy != status.ReadByScan {
		t.Fatalf("ReconcileExact by a scan: %s, read by %q (%v)", r.Line(), r.ReadBy, err)
	}

	// A final account (memo submit --wait's last word) reads strongly
	// consistent, by lookups and by a scan alike; status --exact does not.
	var consistent []bool
	c.Table = results.New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("consistency", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				switch v := in.Parameters.(type) {
				case *dynamodb.BatchGetItemInput:
					for _, ka := range v.RequestItems {
						consistent = append(consistent, aws.ToBool(ka.ConsistentRead))
					}
				case *dynamodb.ScanInput:
					consistent = append(consistent, aws.ToBool(v.ConsistentRead))
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
		})
	}), res.Table)
	for _, k := range []struct {
		name string
		src  status.Source
		want bool
	}{
		{"exact", c, false},
		{"final", c.Consistent(), true},
		{"exact by a scan", smallTable{c}, false},
		{"final by a scan", smallFigure{c.Consistent()}, true},
	} {
		consistent = nil
		r, err = status.ReconcileExact(ctx, k.src, batch)
		if err != nil || !strings.Contains(r.Line(), line) {
			t.Fatalf("%s: %s (%v)", k.name, r.Line(), err)
		}
		if len(consistent) == 0 || slices.Contains(consistent, !k.want) {
			t.Errorf("%s: reads ConsistentRead %v, want all %v", k.name, consistent, k.want)
		}
	}
}

// smallFigure is a status.Source whose results table DescribeTable calls
// small.
type smallFigure struct{ status.Source }

func (smallFigure) TableSize(context.Context) (status.TableSize, error) {
	return status.TableSize{Bytes: 1}, nil
}

func (s smallFigure) ScanTable(ctx context.Context, segments int, page func([]status.ScannedItem, float64) error) error {
	return s.Source.(status.TableScanner).ScanTable(ctx, segments, page)
}

// memo results --batch by a parallel scan of the results table, as it is
// chosen on AWS for a table small next to the batch: the same results as
// by names.
func TestResultsByScan(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "results-by-scan")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := workspace.New(cfg, res)
	const key = "batches/s.jsonl"
	batch, stamp, t0 := putSplitBatch(ctx, t, c, key, "a", "b", "c")
	one := record.Number(1)
	other := "batches/x.json@v9"
	for _, r := range []record.Result{
		{Name: "a", Op: "1", Status: record.StatusOK, Value: &one, Batch: batch, Stamp: stamp, ComputedAt: t0},
		{Name: "b", Op: "2", Status: record.StatusError, Error: "bad", Batch: batch, Stamp: stamp, ComputedAt: t0},
		{Name: "c", Op: "3", Status: record.StatusOK, Value: &one, Batch: other, Stamp: record.NewStamp(t0.Add(time.Minute), "0B", other), ComputedAt: t0},
		{Name: "z", Op: "9", Status: record.StatusOK, Value: &one, Batch: other, Stamp: record.NewStamp(t0.Add(time.Minute), "0B", other), ComputedAt: t0},
	} {
		if err := c.Table.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	list := func(results func(context.Context, string, func(record.Result) error) (bool, error)) []record.Result {
		var out []record.Result
		found, err := results(ctx, batch, func(r record.Result) error { out = append(out, r); return nil })
		if err != nil || !found {
			t.Fatalf("Results: found=%v %v", found, err)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	byNames := list(c.Results)
	if len(byNames) != 2 || byNames[0].Name != "a" || byNames[1].Name != "b" {
		t.Fatalf("by names: %+v", byNames)
	}
	plan := status.ChooseRead(3, status.TableSize{Bytes: 1})
	byScan := list(func(ctx context.Context, b string, fn func(record.Result) error) (bool, error) {
		return c.ResultsByScan(ctx, b, plan, fn)
	})
	if diff := cmp.Diff(byNames, byScan); diff != "" {
		t.Errorf("by a scan (-by names +by scan):\n%s", diff)
	}
	// A scan over its budget (a stale figure) gives way to the lookups,
	// having passed on no result.
	plan.Budget = 0
	if done, err := c.ResultsByScan(ctx, batch, plan, func(record.Result) error { t.Error("a result passed on"); return nil }); done || err != nil {
		t.Errorf("over budget: done=%v %v", done, err)
	}
}

// smallTable is a workspace whose results table DescribeTable calls small.
type smallTable struct{ *workspace.Client }

func (smallTable) TableSize(context.Context) (status.TableSize, error) {
	return status.TableSize{Bytes: 1}, nil
}

// putSplitBatch uploads a .jsonl batch of the given names (op "1" for the
// first, "2" for the second, ...) under key and its report of a split an
// hour ago, and returns the batch, its stamp and that time.
func putSplitBatch(ctx context.Context, t *testing.T, c *workspace.Client, key string, names ...string) (string, record.Stamp, time.Time) {
	t.Helper()
	var file strings.Builder
	for i, n := range names {
		fmt.Fprintf(&file, "{\"name\": %q, \"op\": \"%d\"}\n", n, i+1)
	}
	put, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Res.Bucket), Key: aws.String(key), Body: strings.NewReader(file.String())})
	if err != nil {
		t.Fatal(err)
	}
	batch := naming.BatchID(key, aws.ToString(put.VersionId))
	t0 := time.Now().Add(-time.Hour).UTC()
	stamp := record.NewStamp(t0, "0A", batch)
	rep := record.Report{Batch: batch, Bucket: c.Res.Bucket, Key: key, Status: record.ReportSplit, Stamp: stamp,
		Totals: record.Totals{Ops: len(names), Enqueued: len(names)}, StartedAt: t0, FinishedAt: t0}
	body, _ := rep.Encode()
	if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Res.Bucket), Key: aws.String(naming.BatchReportKey(batch)), Body: strings.NewReader(string(body))}); err != nil {
		t.Fatal(err)
	}
	return batch, stamp, t0
}
