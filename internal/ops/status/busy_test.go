package status

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/pipeline/record"
)

// ReconcileBusy, a wait's poll while the pipeline works, skips the DLQ's
// peek where no verdict stands on it (no report yet; a running batch
// whose ops queue holds messages), and reads it wherever Reconcile's
// verdict does (counters that add up with superseded ops, a batch that
// reads quiet, counters that count too many). Where it skips, its account
// is Reconcile's with the DLQ's ops still in flight: Lost is never lower,
// and it settles nothing Reconcile would not.
func TestReconcileBusyReadsTheDLQOnlyWhereAVerdictNeedsIt(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e"}
	items := map[string]record.Result{
		"a": {Name: "a", Batch: "b", Stamp: "2", Status: record.StatusOK},
		"b": {Name: "b", Batch: "b", Stamp: "2", Status: record.StatusError},
		"c": {Name: "c", Batch: "b-new", Stamp: "3", Status: record.StatusOK},
	}
	split := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: 7, Enqueued: 5, Rejected: 2}}
	justSplit := *split
	justSplit.FinishedAt = time.Now()
	closed := Counts{OK: 3, Error: 1, Superseded: 1}
	cases := []struct {
		name    string
		src     fakeSource
		skipped bool
		line    string // ReconcileBusy's
		reads   reads  // ReconcileBusy's
	}{
		{name: "no report yet: not read", src: fakeSource{counts: Counts{OK: 1}, dlq: []string{"x"}}, skipped: true,
			line: "batch b: total=0 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=0"},
		{name: "running, ops queued: not read, the DLQ's op in flight", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, names: names, items: items, pending: 3, dlq: []string{"e"}}, skipped: true,
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=0 lost=3", reads: reads{pending: 1}},
		{name: "running, the queue empty less than CountLag after the split: not read", src: fakeSource{rep: &justSplit, counts: Counts{OK: 1, Error: 1}, names: names, items: items, dlq: []string{"e"}}, skipped: true,
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=0 dlq=0 lost=3", reads: reads{pending: 1}},
		{name: "closed by the counters: nothing to read", src: fakeSource{rep: split, counts: Counts{OK: 4, Error: 1}, dlq: []string{"e"}, pending: 3},
			line: "batch b: total=7 ok=4 error=1 rejected=2 superseded=0 dlq=0 lost=0"},
		{name: "the counters add up with superseded ops: read", src: fakeSource{rep: split, counts: closed, names: names, items: items, dlq: []string{"e"}, pending: 3},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=1 dlq=1 lost=1 (reconciled by names: " + ReasonDLQ + ")", reads: reads{dlq: 1, pending: 1, names: 1, stored: 2}},
		{name: "quiet (settled short): read before the account by names", src: fakeSource{rep: split, counts: Counts{OK: 1, Error: 1}, names: names, items: items, dlq: []string{"e"}},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=1 dlq=1 lost=1 (reconciled by names: " + ReasonShort + ")", reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
		{name: "the counters count too many: read", src: fakeSource{rep: split, counts: Counts{OK: 6}, names: names, items: items, dlq: []string{"e"}, pending: 4},
			line: "batch b: total=7 ok=1 error=1 rejected=2 superseded=1 dlq=1 lost=1 (reconciled by names: " + ReasonOver + ")", reads: reads{dlq: 1, pending: 1, names: 1, stored: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got reads
			c.src.count(&got)
			busy, err := ReconcileBusy(context.Background(), c.src, "b")
			if err != nil {
				t.Fatal(err)
			}
			if l := busy.Line(); l != c.line {
				t.Errorf("Line() = %q\n           want %q", l, c.line)
			}
			if busy.DLQSkipped != c.skipped {
				t.Errorf("DLQSkipped = %v, want %v", busy.DLQSkipped, c.skipped)
			}
			if diff := cmp.Diff(c.reads, got, cmp.AllowUnexported(reads{})); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
			c.src.count(&reads{})
			full, err := Reconcile(context.Background(), c.src, "b")
			if err != nil {
				t.Fatal(err)
			}
			if full.DLQSkipped {
				t.Error("Reconcile skipped the DLQ")
			}
			if !c.skipped {
				if busy.Line() != full.Line() {
					t.Errorf("read the DLQ but answered %q; Reconcile %q", busy.Line(), full.Line())
				}
				return
			}
			if busy.DLQ > full.DLQ || busy.Lost < full.Lost || busy.Report != nil && busy.Lost+busy.DLQ != full.Lost+full.DLQ {
				t.Errorf("lost=%d dlq=%d; Reconcile lost=%d dlq=%d: a skipped DLQ may only leave its ops in flight", busy.Lost, busy.DLQ, full.Lost, full.DLQ)
			}
			if busy.Settled() && !full.Settled() {
				t.Error("settled where Reconcile does not")
			}
		})
	}
}
