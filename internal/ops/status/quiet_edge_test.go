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
