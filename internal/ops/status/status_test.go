package status

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/pipeline/record"
)

type fakeSource struct {
	rep *record.Report
	// counts are compute's counters of the batch.
	counts  Counts
	dlq     []string
	pending int
	// names are the batch's valid op names (nil: the object is gone).
	names []string
	// items hold each name now.
	items map[string]record.Result
	// nameReads counts the reads of the batch object; pendingReads and
	// storedReads the looks at the queue and at the stored items;
	// dlqReads the looks at the DLQ.
	nameReads, pendingReads, storedReads, dlqReads *int
}

func (f fakeSource) Counts(context.Context, string) (Counts, error) { return f.counts, nil }

func (f fakeSource) Report(context.Context, string) (record.Report, bool, error) {
	if f.rep == nil {
		return record.Report{}, false, nil
	}
	return *f.rep, true, nil
}

func (f fakeSource) DLQ(context.Context, string) ([]string, error) {
	if f.dlqReads != nil {
		*f.dlqReads++
	}
	return f.dlq, nil
}

func (f fakeSource) Pending(context.Context) (int, error) {
	if f.pendingReads != nil {
		*f.pendingReads++
	}
	return f.pending, nil
}

func (f fakeSource) Names(_ context.Context, _ record.Report, fn func(string) error) (bool, error) {
	if f.nameReads != nil {
		*f.nameReads++
	}
	if f.names == nil {
		return false, nil
	}
	for _, n := range f.names {
		if err := fn(n); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (f fakeSource) Stored(_ context.Context, names []string) (map[string]record.Result, error) {
	if f.storedReads != nil {
		*f.storedReads++
	}
	out := map[string]record.Result{}
	for _, n := range names {
		if it, ok := f.items[n]; ok {
			out[n] = it
		}
	}
	return out, nil
}

// reads counts what a reconciliation read besides the report and the
// counters.
type reads struct{ names, pending, stored, dlq int }

func (f *fakeSource) count(r *reads) {
	f.nameReads, f.pendingReads, f.storedReads, f.dlqReads = &r.names, &r.pending, &r.stored, &r.dlq
}

// One decision of Reconcile per case (its doc comment): closed by the
// counters with no other read; running (ops missing while the batch can
// still change: the counters stand, the DLQ's names are looked up); by
// names when the counters count too many, when the batch has settled
// short, or when asked, saying why.
func TestReconcile(t *testing.T) {
	// a and b this upload's (stamp 2), c a newer upload's, d an older one's,
	// e never stored.
	names := []string{"a", "b", "c", "d", "e"}
	items := map[string]record.Result{
		"a": {Name: "a", Batch: "b", Stamp: "2", Status: record.StatusOK},
		"b": {Name: "b", Batch: "b", Stamp: "2", Status: record.StatusError},
		"c": {Name: "c", Batch: "b-new", Stamp: "3", Status: record.StatusOK},
		"d": {Name: "d", Batch: "b-old", Stamp: "1", Status: record.StatusOK},
	}
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 7, Enqueued: 5, Rejected: 2}}
	justSplit := *split
	justSplit.FinishedAt = time.Now()
	failed := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportFailed, Totals: record.Totals{Ops: 5, Enqueued: 5}, FinishedAt: time.Now()}
	failedLongAgo := *failed
	failedLongAgo.FinishedAt = time.Now().Add(-FailedSettleAfter - time.Second)
	closed := Counts{OK: 3, Error: 1, Superseded: 1}
	const byNames = "batch b: total=7 ok=1 error=1 rejected=2 superseded=1 dlq=1 lost=1"
	cases := []struct {
		name    string
		src     fakeSource
		exact   bool
		line    string
		settled bool
		reads   reads
	}{
		{name: "no report yet: the counters and the DLQ", src: fakeSource{counts: Counts{OK: 1}, dlq: []string{"x", "x"}},
			line: "batch b: total=0 ok=1 error=0 rejected=0 superseded=0 dlq=1 lost=0", reads: reads{dlq: 1}},
		{name: "closed: the counters account for every op", src: fakeSource{rep: split, counts: Counts{OK: 4, Error: 1}, names: names, items: items, dlq: []string{"e"}, pending: 3},
			line: "batch b: total=7 ok=4 error=1 rejected=2 superseded=0 dlq=0 lost=0", settled: true},
		{name: "closed with superseded ops: the DLQ holds none of the batch's unstored ops", src: fakeSource{rep: split, counts: closed, names: names, items: items, dlq: []string{"a"}, pending: 3},
			line: "batch b: total=7 ok=3 error=1 rejected=2 superseded=1 dlq=0 lost=0", settled: true, reads: reads{dlq: 1, stored: 1}},
		{name: "by names: the counters add up with superseded ops while the DLQ holds an op (a redrive counted them again)", src: fakeSource{rep: split, counts: closed, names: names, items: items, dlq: []string{"e"}, pending: 3},
			line: byNames + " (reconciled by names: " + ReasonDLQ + ")", reads: reads{dlq: 1, pending: 1, names: 1, stored: 2}},
		{name: "rejected batch: closed", src: fakeSource{rep: &record.Report{Batch: "b", Status: record.ReportRejected, Totals: record.Totals{Ops: 2, Rejected: 2}}},
			line: "batch b: total=2 ok=0 error=0 rejected=2 superseded=0 dlq=0 lost=0", settled: true},
		{name: "running: ops in the queue", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, names: names, items: items, pending: 3},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=0 lost=3", reads: reads{dlq: 1, pending: 1}},
		{name: "running: the DLQ's names looked up, a superseded one not in the DLQ", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, names: names, items: items, pending: 3, dlq: []string{"c", "e", "e"}},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=1 lost=2", reads: reads{dlq: 1, pending: 1, stored: 1}},
		{name: "running: the queue empty, but read less than CountLag after the split", src: fakeSource{rep: &justSplit, counts: Counts{OK: 1, Error: 1}, names: names, items: items},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=0 lost=3", reads: reads{dlq: 1, pending: 1}},
		{name: "running: a failed split whose retries may still come", src: fakeSource{rep: failed, counts: Counts{OK: 1}, names: names, items: items},
			line: "batch b: total=5 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=4", reads: reads{dlq: 1, pending: 1}},
		{name: "by names: settled short", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, names: names, items: items, dlq: []string{"d"}},
			line: byNames + " (reconciled by names: " + ReasonShort + ")", settled: true, reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
		{name: "by names: a failed split once its retries are over", src: fakeSource{rep: &failedLongAgo, counts: Counts{OK: 1}, names: names, items: items},
			line: "batch b: total=5 ok=1 error=1 rejected=0 superseded=1 dlq=0 lost=2 (reconciled by names: " + ReasonShort + ")", settled: true, reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
		{name: "by names: the counters count too many", src: fakeSource{rep: split, counts: Counts{OK: 6}, names: names, items: items, dlq: []string{"d"}, pending: 4},
			line: byNames + " (reconciled by names: " + ReasonOver + ")", reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
		{name: "by names: asked, though the counters close", src: fakeSource{rep: split, counts: closed, names: names, items: items, dlq: []string{"d"}}, exact: true,
			line: byNames + " (reconciled by names: " + ReasonAsked + ")", settled: true, reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
		{name: "by names, but the object is gone: the counters stand", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, items: items, dlq: []string{"e"}},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=1 lost=2 (reconciled by names: " + ReasonShort + "; " + ReasonUnnamed + ")", settled: true, reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got reads
			c.src.count(&got)
			rec := Reconcile
			if c.exact {
				rec = ReconcileExact
			}
			r, err := rec(context.Background(), c.src, "b")
			if err != nil {
				t.Fatal(err)
			}
			if l := r.Line(); l != c.line {
				t.Errorf("Line() = %q\n           want %q", l, c.line)
			}
			if r.Settled() != c.settled {
				t.Errorf("Settled() = %v, want %v", r.Settled(), c.settled)
			}
			if diff := cmp.Diff(c.reads, got, cmp.AllowUnexported(reads{})); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
		})
	}
}

// The account by names looks the names up namesWindow at a time, however
// many the batch has.
func TestNamesAreLookedUpInWindows(t *testing.T) {
	n := 2*namesWindow + 3
	names := make([]string, n)
	items := map[string]record.Result{}
	for i := range names {
		names[i] = fmt.Sprintf("n%06d", i)
		items[names[i]] = record.Result{Name: names[i], Batch: "b", Stamp: "2", Status: record.StatusOK}
	}
	rep := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: n, Enqueued: n}}
	src := fakeSource{rep: rep, names: names, items: items}
	var got reads
	src.count(&got)
	r, err := ReconcileExact(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != n || r.Lost != 0 || got.stored != 3 {
		t.Fatalf("ok=%d lost=%d in %d lookups; want ok=%d lost=0 in 3", r.OK, r.Lost, got.stored, n)
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
		{"superseded ops are done", Reconciliation{Report: rep, OK: 1, Superseded: 2, Queued: 50, Total: 10}, 3},
	} {
		if got := c.r.Done(); got != c.want {
			t.Errorf("%s: Done() = %d, want %d", c.name, got, c.want)
		}
	}
}

// Newer: another batch with a greater stamp; an equal stamp is not newer.
func TestNewer(t *testing.T) {
	rep := record.Report{Batch: "b", Stamp: "2"}
	for _, c := range []struct {
		it   record.Result
		want bool
	}{
		{record.Result{Batch: "c", Stamp: "3"}, true},
		{record.Result{Batch: "c", Stamp: "2"}, false},
		{record.Result{Batch: "c", Stamp: "1"}, false},
		{record.Result{Batch: "b", Stamp: "3"}, false},
	} {
		if got := Newer(c.it, rep); got != c.want {
			t.Errorf("Newer(%+v, %+v) = %v, want %v", c.it, rep, got, c.want)
		}
	}
}

// A failed batch settles once its report is exactly FailedSettleAfter old
// and the queue is empty, not before.
func TestFailedSettlesAfterItsRetries(t *testing.T) {
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	rep := &record.Report{Status: record.ReportFailed, FinishedAt: at}
	for _, c := range []struct {
		age    time.Duration
		queued int
		want   bool
	}{
		{FailedSettleAfter, 0, true},
		{FailedSettleAfter - time.Millisecond, 0, false},
		{FailedSettleAfter, 1, false},
	} {
		r := Reconciliation{Report: rep, Queued: c.queued, At: at.Add(c.age)}
		if got := r.Settled(); got != c.want {
			t.Errorf("failed report %v old, queue %d: Settled() = %v, want %v", c.age, c.queued, got, c.want)
		}
	}
}

// Issue 18, point 4: an empty ops queue read less than CountLag after the
// split finished proves nothing (SQS's counts lag at least a minute):
// ops missing then are in flight, not settled as lost.
func TestSettledOnlyAfterTheCountsCanBeBelieved(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		finished time.Duration // before now
		want     bool
	}{
		{time.Second, false},
		{CountLag - time.Second, false},
		{CountLag, true},
	} {
		rep := record.Report{Status: record.ReportSplit, FinishedAt: now.Add(-c.finished)}
		r := Reconciliation{Report: &rep, Total: 3, OK: 1, Lost: 2, Queued: 0, At: now}
		if got := r.Settled(); got != c.want {
			t.Errorf("split %v ago, queue empty, 2 ops missing: Settled() = %v, want %v", c.finished, got, c.want)
		}
	}
}
