package status

import (
	"context"
	"testing"

	"github.com/memohq/memo/internal/pipeline/record"
)

type fakeSource struct {
	rep     *record.Report
	results map[string]record.Status
	dlq     []string
}

func (f fakeSource) Report(context.Context, string) (record.Report, bool, error) {
	if f.rep == nil {
		return record.Report{}, false, nil
	}
	return *f.rep, true, nil
}

func (f fakeSource) Results(_ context.Context, _ string, fn func(string, record.Status) error) error {
	for n, s := range f.results {
		if err := fn(n, s); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeSource) DLQ(context.Context, string) ([]string, error) { return f.dlq, nil }

func TestReconcile(t *testing.T) {
	split := &record.Report{Status: record.ReportSplit, Totals: record.Totals{Ops: 6, Enqueued: 4, Rejected: 2}}
	cases := []struct {
		name    string
		src     fakeSource
		line    string
		settled bool
	}{
		{"no report yet", fakeSource{}, "batch b: total=0 ok=0 error=0 rejected=0 dlq=0 lost=0", false},
		{"in flight", fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}},
			"batch b: total=6 ok=1 error=0 rejected=2 dlq=0 lost=3", false},
		{"all accounted", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, dlq: []string{"d"}},
			"batch b: total=6 ok=2 error=1 rejected=2 dlq=1 lost=0", true},
		{"dlq copy of a stored op counts once", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok", "c": "ok"}, dlq: []string{"c", "d", "d"}},
			"batch b: total=6 ok=3 error=0 rejected=2 dlq=1 lost=0", true},
		{"rejected batch", fakeSource{rep: &record.Report{Status: record.ReportRejected}}, "batch b: total=0 ok=0 error=0 rejected=0 dlq=0 lost=0", true},
		{"failed split", fakeSource{rep: &record.Report{Status: record.ReportFailed, Totals: record.Totals{Ops: 3, Enqueued: 1}}, results: map[string]record.Status{"a": "ok"}},
			"batch b: total=3 ok=1 error=0 rejected=0 dlq=0 lost=2", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Reconcile(context.Background(), c.src, "b")
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Line(); got != c.line {
				t.Errorf("Line() = %q, want %q", got, c.line)
			}
			if r.Settled() != c.settled {
				t.Errorf("Settled() = %v, want %v", r.Settled(), c.settled)
			}
			if r.Queued != -1 || r.Batch != "b" {
				t.Errorf("Queued = %d, Batch = %q: Reconcile does not look at the queue (-1)", r.Queued, r.Batch)
			}
		})
	}
}

// TestDone: progress counts the accounted ops, or, when the queue was
// looked at and holds fewer than the unaccounted ops, the ops that have
// left it; never more than the batch's ops.
func TestDone(t *testing.T) {
	rep := &record.Report{Status: record.ReportSplit}
	for _, c := range []struct {
		name string
		r    Reconciliation
		want int
	}{
		{"no report: the accounted ops", Reconciliation{OK: 2, Error: 1, Rejected: 1, DLQ: 1, Queued: 0, Total: 10}, 5},
		{"queue not looked at", Reconciliation{Report: rep, OK: 3, Queued: -1, Total: 10}, 3},
		{"queue ahead of the table", Reconciliation{Report: rep, OK: 3, Queued: 4, Total: 10}, 6},
		{"queue behind the table", Reconciliation{Report: rep, OK: 3, Rejected: 5, Queued: 4, Total: 10}, 8},
		{"empty queue", Reconciliation{Report: rep, OK: 1, Queued: 0, Total: 10}, 10},
		{"a queue shared with other batches", Reconciliation{Report: rep, OK: 1, DLQ: 1, Queued: 50, Total: 10}, 2},
	} {
		if got := c.r.Done(); got != c.want {
			t.Errorf("%s: Done() = %d, want %d", c.name, got, c.want)
		}
	}
}
