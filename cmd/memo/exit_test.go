package main

import (
	"errors"
	"testing"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

func code(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailure
}

// Every exit code memo help documents for status, submit --wait and local
// --batch, from the reconciliation it ends with.
func TestBatchExitCodes(t *testing.T) {
	now := time.Now()
	split := &record.Report{Batch: "b", Status: record.ReportSplit, Totals: record.Totals{Ops: 3, Enqueued: 3}}
	rejected := &record.Report{Batch: "b", Status: record.ReportRejected}
	failedOld := &record.Report{Batch: "b", Status: record.ReportFailed, Totals: record.Totals{Ops: 3, Enqueued: 1}, FinishedAt: now.Add(-time.Hour)}
	rec := func(rep *record.Report, ok, superseded, lost, queued int) status.Reconciliation {
		r := status.Reconciliation{Batch: "b", Report: rep, OK: ok, Superseded: superseded, Lost: lost, Queued: queued, At: now}
		if rep != nil {
			r.Total = rep.Totals.Ops
		}
		return r
	}
	for _, c := range []struct {
		name string
		rec  status.Reconciliation
		// status, status --watch, and submit --wait / local --batch.
		status, watch, wait int
	}{
		{"no report", rec(nil, 0, 0, 0, -1), exitFailure, exitFailure, exitLost},
		{"every op accounted", rec(split, 2, 1, 0, -1), exitOK, exitOK, exitOK},
		{"in progress", rec(split, 1, 0, 2, 5), exitOK, exitLost, exitLost},
		{"settled with ops lost", rec(split, 1, 0, 2, 0), exitLost, exitLost, exitLost},
		{"rejected", rec(rejected, 0, 0, 0, -1), exitRejected, exitRejected, exitRejected},
		{"failed, retries over, ops lost", rec(failedOld, 1, 0, 2, 0), exitLost, exitLost, exitLost},
	} {
		if got := code(statusExit(c.rec, false)); got != c.status {
			t.Errorf("%s: memo status exits %d, want %d", c.name, got, c.status)
		}
		if got := code(statusExit(c.rec, true)); got != c.watch {
			t.Errorf("%s: memo status --watch exits %d, want %d", c.name, got, c.watch)
		}
		if got := code(batchExit(c.rec)); got != c.wait {
			t.Errorf("%s: memo submit --wait / local --batch exit %d, want %d", c.name, got, c.wait)
		}
	}
}
