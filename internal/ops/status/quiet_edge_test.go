package status

import (
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// A batch is quiet exactly when CountLag (a split) or FailedSettleAfter
// (a failed split) has passed since its report, not a moment later.
func TestQuietAtItsBounds(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status record.ReportStatus
		after  time.Duration
	}{{record.ReportSplit, CountLag}, {record.ReportFailed, FailedSettleAfter}} {
		r := Reconciliation{Report: &record.Report{Status: c.status, FinishedAt: at.Add(-c.after)}, At: at}
		if !r.quiet() {
			t.Errorf("%s, %v after: not quiet", c.status, c.after)
		}
		r.At = at.Add(-time.Nanosecond)
		if r.quiet() {
			t.Errorf("%s, just under %v after: quiet", c.status, c.after)
		}
	}
}

// Ops missing while some DLQ messages went unread count in the DLQ, up to
// the unread ops, and only then: none missing, or every DLQ op read,
// leaves the account as it is.
func TestFinishCountsUnreadDLQOps(t *testing.T) {
	for _, c := range []struct {
		name                string
		in                  Reconciliation
		lost, dlq, estimate int
	}{
		{"one missing, one unread", Reconciliation{Total: 5, OK: 4, DLQUnread: 1}, 0, 1, 1},
		{"two missing, one unread", Reconciliation{Total: 5, OK: 3, DLQUnread: 1}, 1, 1, 1},
		{"one missing, all read", Reconciliation{Total: 5, OK: 4}, 1, 0, 0},
		{"none missing, one unread", Reconciliation{Total: 5, OK: 4, DLQ: 1, DLQUnread: 1}, 0, 1, 0},
		{"more accounted than the batch", Reconciliation{Total: 5, OK: 6, DLQUnread: 3}, 0, 0, 0},
	} {
		r := c.in.finish()
		if r.Lost != c.lost || r.DLQ != c.dlq || r.DLQEstimated != c.estimate {
			t.Errorf("%s: lost=%d dlq=%d estimated=%d, want %d %d %d", c.name, r.Lost, r.DLQ, r.DLQEstimated, c.lost, c.dlq, c.estimate)
		}
	}
}

// The scan is chosen when it reads at most half the lookups' units, that
// half included: 255 units of 4 KB and one page are 128 units, against 256
// for 512 names.
func TestChooseReadAtItsMargin(t *testing.T) {
	size := TableSize{Bytes: 255 * ReadUnitBytes, Items: 1000}
	if p := ChooseRead(512, size); !p.Scan || p.ScanUnits*ScanMargin != p.LookupUnits {
		t.Errorf("512 names: %+v, want a scan at exactly the margin", p)
	}
	if p := ChooseRead(511, size); p.Scan {
		t.Errorf("511 names: %+v, want lookups", p)
	}
}
