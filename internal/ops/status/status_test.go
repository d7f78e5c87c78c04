package status

import (
	"context"
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

type fakeSource struct {
	rep     *record.Report
	results map[string]record.Status
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

// Counts counts results as the batch index does: by status, any status
// but ok as an error.
func (f fakeSource) Counts(context.Context, string) (Counts, error) {
	var c Counts
	for _, s := range f.results {
		if s == record.StatusOK {
			c.OK++
		} else {
			c.Error++
		}
	}
	return c, nil
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

func TestReconcile(t *testing.T) {
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 6, Enqueued: 4, Rejected: 2}}
	names := []string{"a", "b", "c", "d"}
	newer := map[string]record.Result{"c": {Name: "c", Batch: "b-new", Stamp: "3"}, "d": {Name: "d", Batch: "b-new", Stamp: "3"}}
	older := map[string]record.Result{"c": {Name: "c", Batch: "b-old", Stamp: "1"}, "d": {Name: "d", Batch: "b-old", Stamp: "1"}}
	failed := &record.Report{Batch: "b", Status: record.ReportFailed, Totals: record.Totals{Ops: 3, Enqueued: 1}, FinishedAt: time.Now()}
	failedLongAgo := *failed
	failedLongAgo.FinishedAt = time.Now().Add(-FailedSettleAfter - time.Second)
	cases := []struct {
		name    string
		src     fakeSource
		line    string
		settled bool
	}{
		{"no report yet", fakeSource{}, "batch b: total=0 ok=0 error=0 rejected=0 superseded=0 dlq=0 lost=0", false},
		{"in flight", fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}, pending: 3, names: names},
			"batch b: total=6 ok=1 error=0 rejected=2 superseded=0 dlq=0 lost=3", false},
		{"all accounted", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, dlq: []string{"d"}},
			"batch b: total=6 ok=2 error=1 rejected=2 superseded=0 dlq=1 lost=0", true},
		{"dlq copy of a stored op counts once", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok", "c": "ok"}, dlq: []string{"c", "d", "d"}},
			"batch b: total=6 ok=3 error=0 rejected=2 superseded=0 dlq=1 lost=0", true},
		// Nothing can still arrive: what is missing is lost, and the batch
		// has settled (memo status exits 3).
		{"lost once the queue is empty", fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}, names: names},
			"batch b: total=6 ok=1 error=0 rejected=2 superseded=0 dlq=0 lost=3", true},
		{"names held by a newer upload are superseded, not lost", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok"}, names: names, items: newer},
			"batch b: total=6 ok=2 error=0 rejected=2 superseded=2 dlq=0 lost=0", true},
		{"names held by an older upload are lost", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok"}, names: names, items: older},
			"batch b: total=6 ok=2 error=0 rejected=2 superseded=0 dlq=0 lost=2", true},
		{"a DLQ message of a superseded name is superseded", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok"}, dlq: []string{"c", "d"}, items: map[string]record.Result{"c": newer["c"]}, pending: 5},
			"batch b: total=6 ok=2 error=0 rejected=2 superseded=1 dlq=1 lost=0", true},
		{"object gone: missing ops count as lost", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok"}, items: newer},
			"batch b: total=6 ok=2 error=0 rejected=2 superseded=0 dlq=0 lost=2", true},
		{"rejected batch", fakeSource{rep: &record.Report{Status: record.ReportRejected}}, "batch b: total=0 ok=0 error=0 rejected=0 superseded=0 dlq=0 lost=0", true},
		{"failed split, retries may still come", fakeSource{rep: failed, results: map[string]record.Status{"a": "ok"}, names: names},
			"batch b: total=3 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=2", false},
		{"failed split, retries over", fakeSource{rep: &failedLongAgo, results: map[string]record.Status{"a": "ok"}, names: names},
			"batch b: total=3 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=2", true},
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
			// Reconcile looks at the queue only when ops are missing (then
			// Queued is what Pending says), else it leaves Queued at -1.
			if r.Batch != "b" || (r.Queued != -1 && r.Queued != c.src.pending) {
				t.Errorf("Queued = %d, Batch = %q: want -1 or the queue's %d", r.Queued, r.Batch, c.src.pending)
			}
		})
	}
}

// The batch object is read only when ops are missing and nothing is in
// flight: a running batch costs no extra GET.
func TestNamesAreReadOnlyWhenNeeded(t *testing.T) {
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 2, Enqueued: 2}}
	for _, c := range []struct {
		name  string
		src   fakeSource
		reads int
	}{
		{"all stored", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "ok"}, names: []string{"a", "b"}}, 0},
		{"running", fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}, names: []string{"a", "b"}, pending: 1}, 0},
		{"idle with one missing", fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}, names: []string{"a", "b"}}, 1},
	} {
		reads := 0
		c.src.nameReads = &reads
		if _, err := Reconcile(context.Background(), c.src, "b"); err != nil {
			t.Fatal(err)
		}
		if reads != c.reads {
			t.Errorf("%s: %d reads of the batch object, want %d", c.name, reads, c.reads)
		}
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

// The queue is looked at only when ops are missing, and the stored items
// only for names not stored under the batch: a batch whose every op is
// accounted for (by results, rejections and the DLQ) costs neither.
func TestQueueAndItemsAreReadOnlyWhenOpsAreMissing(t *testing.T) {
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 6, Enqueued: 4, Rejected: 2}}
	for _, c := range []struct {
		name            string
		src             fakeSource
		pending, stored int
	}{
		{"every op accounted for", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, dlq: []string{"d"}}, 0, 1},
		{"every op stored", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok", "d": "ok"}}, 0, 0},
		{"one op missing", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, pending: 2}, 1, 0},
		// the queue is read once per reconciliation, however many paths
		// want it: two reads of SQS's approximate counts could disagree
		{"one op missing, the queue empty", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, names: []string{"a", "b", "c", "d"}}, 1, 1},
		// no name to look up (the DLQ's is stored): no lookup of nothing
		{"one op missing, the DLQ's op stored", fakeSource{rep: split, results: map[string]record.Status{"a": "ok", "b": "error", "c": "ok"}, dlq: []string{"a"}, pending: 2}, 1, 0},
	} {
		var pending, stored int
		c.src.pendingReads, c.src.storedReads = &pending, &stored
		if _, err := Reconcile(context.Background(), c.src, "b"); err != nil {
			t.Fatal(err)
		}
		if pending != c.pending || stored != c.stored {
			t.Errorf("%s: %d looks at the queue and %d at stored items, want %d and %d", c.name, pending, stored, c.pending, c.stored)
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

// Results of the batch that the index does not show (it lags its table,
// or they were written before the index was keyed on batch_shard) are
// found when their names are looked up: stored, not lost, and not in the
// DLQ even when a copy of their message is there.
func TestStoredResultsMissingFromTheIndex(t *testing.T) {
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 5, Enqueued: 5}}
	items := map[string]record.Result{
		"b": {Name: "b", Batch: "b", Stamp: "2", Status: record.StatusOK},
		"c": {Name: "c", Batch: "b", Stamp: "2", Status: record.StatusError},
		"d": {Name: "d", Batch: "b-new", Stamp: "3", Status: record.StatusOK},
	}
	src := fakeSource{rep: split, results: map[string]record.Status{"a": "ok"}, names: []string{"a", "b", "c", "d", "e"}, items: items, dlq: []string{"c"}}
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	if want := "batch b: total=5 ok=2 error=1 rejected=0 superseded=1 dlq=0 lost=1"; r.Line() != want {
		t.Errorf("Line() = %q, want %q", r.Line(), want)
	}
}

// Without a report (a batch id not split yet, or mistyped) what is known
// is still counted: its results and its messages in the DLQ.
func TestWithoutAReportResultsAndDLQAreCounted(t *testing.T) {
	src := fakeSource{results: map[string]record.Status{"a": "ok", "b": "error"}, dlq: []string{"c"}}
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Report != nil || r.OK != 1 || r.Error != 1 || r.DLQ != 1 || r.Settled() {
		t.Fatalf("%+v: want ok=1 error=1 dlq=1, no report, not settled", r)
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
