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

// A chunk done is progress: a batch whose chunks complete one by one
// (each queuing its ops before any is computed) is not standing still.
func TestStillnessCountsChunksDone(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	rep := &record.Report{Status: record.ReportSplitting, Totals: record.Totals{Ops: 100_000}}
	var s stillness
	s.since(status.Reconciliation{Report: rep, ChunksDone: 1}, t0)
	if got := s.since(status.Reconciliation{Report: rep, ChunksDone: 1}, t0.Add(10*time.Minute)); got != 10*time.Minute {
		t.Fatalf("same chunks done: still for %v, want 10m", got)
	}
	if got := s.since(status.Reconciliation{Report: rep, ChunksDone: 2}, t0.Add(11*time.Minute)); got != 0 {
		t.Fatalf("a chunk done: still for %v, want 0", got)
	}
}

// While a batch is splitting, the wait outlasts a chunk's retry: the chunk
// queue's visibility timeout (1,800 s at Terraform's defaults) and one
// splitter timeout (a sixth of it) before giving up; otherwise --stall.
func TestStallLimitOutlastsAChunkRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		stall      time.Duration
		splitting  bool
		visibility time.Duration
		want       time.Duration
	}{
		{"split: the stall as set", 20 * time.Minute, false, 30 * time.Minute, 20 * time.Minute},
		{"splitting at the defaults", 20 * time.Minute, true, 30 * time.Minute, 35 * time.Minute},
		{"splitting, a longer stall stands", 2 * time.Hour, true, 30 * time.Minute, 2 * time.Hour},
		{"splitting, visibility unknown", 20 * time.Minute, true, 0, 20 * time.Minute},
	} {
		if got := stallLimit(tc.stall, tc.splitting, tc.visibility); got != tc.want {
			t.Errorf("%s: stallLimit = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A busy ops queue may be another batch's: a wait skips the DLQ's names
// while it is busy, but reads them at least every busyDLQEvery, so a batch
// whose last ops wait in the DLQ settles while another batch still runs.
func TestBusyPollsReadTheDLQNowAndThen(t *testing.T) {
	for _, c := range []struct {
		idle  bool
		since time.Duration
		skip  bool
	}{
		{false, 0, true},
		{false, busyDLQEvery - time.Millisecond, true},
		{false, busyDLQEvery, false},
		{false, time.Hour, false},
		{true, 0, false},
	} {
		if got := skipDLQ(c.idle, c.since); got != c.skip {
			t.Errorf("skipDLQ(idle=%v, %v) = %v, want %v", c.idle, c.since, got, c.skip)
		}
	}
}
