package workspace

import (
	"testing"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

// A wait gives up on a batch only after it has not moved for a while:
// every change in what it sees (ops accounted for, the queue's depth, the
// report appearing) starts the clock again, however long the batch takes.
func TestStillnessCountsFromTheLastMove(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	rep := &record.Report{Status: record.ReportSplit, Totals: record.Totals{Ops: 100_000}}
	steps := []struct {
		at   time.Duration
		r    status.Reconciliation
		want time.Duration
	}{
		{0, status.Reconciliation{Queued: 0}, 0},
		{time.Minute, status.Reconciliation{Queued: 0}, time.Minute},           // nothing yet
		{2 * time.Minute, status.Reconciliation{Queued: 3880}, 0},              // the split enqueues
		{3 * time.Minute, status.Reconciliation{Queued: 3880}, time.Minute},    // same depth
		{4 * time.Minute, status.Reconciliation{Queued: 3880, Report: rep}, 0}, // the report
		{5 * time.Minute, status.Reconciliation{Queued: 3880, Report: rep, Total: 100_000}, 0},
		{9 * time.Minute, status.Reconciliation{Queued: 3880, Report: rep, Total: 100_000}, 4 * time.Minute},
		{10 * time.Minute, status.Reconciliation{Queued: 3880, Report: rep, Total: 100_000, OK: 1}, 0}, // an op done
		{60 * time.Minute, status.Reconciliation{Queued: 3880, Report: rep, Total: 100_000, OK: 1}, 50 * time.Minute},
	}
	var s stillness
	for i, st := range steps {
		if got := s.since(st.r, t0.Add(st.at)); got != st.want {
			t.Errorf("step %d (%v): still for %v, want %v", i, st.at, got, st.want)
		}
	}
}
