package status

import (
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// A failed split is never declared settled while Lambda may still retry
// it, at AWS's lengths, on a fake clock. S3 invokes the splitter
// asynchronously: "If the function returns an error, by default Lambda
// attempts to run it two more times, with a one-minute wait between the
// first two attempts, and two minutes between the second and third
// attempts. Function errors include ... timeouts" ("How Lambda handles
// errors and retries with asynchronous invocation", AWS Lambda Developer
// Guide). Worst case: the first attempt's failed report is written at once,
// and each retry runs its whole timeout (Terraform's splitter_timeout, 300
// s) before it succeeds or fails; a retry that succeeds rewrites the report
// only when it ends. Until the last attempt can have ended, the batch must
// read as unsettled (memo submit --wait keeps waiting, memo status does
// not exit 3); once FailedSettleAfter has passed with the ops queue empty,
// it settles.
func TestFailedSplitUnsettledWhileLambdaMayRetry(t *testing.T) {
	const (
		splitterTimeout = 300 * time.Second // Terraform's splitter_timeout default
		firstWait       = 1 * time.Minute
		secondWait      = 2 * time.Minute
	)
	if FailedSettleAfter != 15*time.Minute {
		t.Fatalf("FailedSettleAfter = %v: this test checks AWS's lengths (15 min)", FailedSettleAfter)
	}
	failed := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) // the first attempt's report
	// The second attempt starts a minute after the first failed and runs
	// up to the timeout; the third two minutes after that.
	second := failed.Add(firstWait)
	third := second.Add(splitterTimeout).Add(secondWait)
	lastEnd := third.Add(splitterTimeout)
	rep := &record.Report{Status: record.ReportFailed, FinishedAt: failed}
	for now := failed; !now.After(lastEnd); now = now.Add(time.Second) {
		r := Reconciliation{Report: rep, Queued: 0, At: now}
		if r.Settled() {
			t.Fatalf("settled %v after the first failure, while Lambda may still retry (the last attempt can end %v after it)",
				now.Sub(failed), lastEnd.Sub(failed))
		}
	}
	if r := (Reconciliation{Report: rep, Queued: 0, At: failed.Add(FailedSettleAfter)}); !r.Settled() {
		t.Errorf("not settled %v after the failure with the queue empty", FailedSettleAfter)
	}
	// A later attempt's failure rewrites the report: the wait starts over.
	retried := &record.Report{Status: record.ReportFailed, FinishedAt: third.Add(splitterTimeout)}
	if r := (Reconciliation{Report: retried, Queued: 0, At: failed.Add(FailedSettleAfter)}); r.Settled() {
		t.Errorf("settled %v after the first failure though the third attempt failed %v after it", FailedSettleAfter, retried.FinishedAt.Sub(failed))
	}
}
