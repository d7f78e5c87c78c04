package workspace

import (
	"context"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

// WaitOptions tune Wait.
type WaitOptions struct {
	// Poll is the interval between checks (default 500ms).
	Poll time.Duration
	// FullEvery: while the pipeline is busy, a full reconciliation (which
	// reads the batch's whole index) runs every FullEvery polls; the polls
	// between only read the report and the ops queue's depth (default 10).
	FullEvery int
	// Idle, when set, says whether the pipeline has nothing left to do
	// (the twin knows); otherwise an empty ops queue is taken as idle.
	Idle func(ctx context.Context) (bool, error)
	// Quiet is how many consecutive idle polls end the wait with ops
	// unaccounted for (default 4).
	Quiet int
	// Progress is called after every poll. Between full reconciliations
	// the counts are those of the last one, and Queued is fresh.
	Progress func(status.Reconciliation)
}

// Wait follows a batch until every op is accounted for, or until the
// pipeline has been idle for a while with ops still missing (they are then
// lost), or until ctx ends. It returns the last full reconciliation.
func (c *Client) Wait(ctx context.Context, batch string, o WaitOptions) (status.Reconciliation, error) {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.FullEvery <= 0 {
		o.FullEvery = 10
	}
	if o.Quiet <= 0 {
		o.Quiet = 4
	}
	queueIdle := func(ctx context.Context) (bool, int, error) {
		v, f, err := c.QueueDepth(ctx, c.Res.QueueURL)
		return v+f == 0, v + f, err
	}
	last := status.Reconciliation{Batch: batch, Queued: -1}
	quiet := 0
	for poll := 0; ; poll++ {
		idle, queued, err := queueIdle(ctx)
		if err != nil {
			return last, err
		}
		if idle && o.Idle != nil {
			if idle, err = o.Idle(ctx); err != nil {
				return last, err
			}
		}
		full := idle || poll%o.FullEvery == 0 || last.Report == nil
		if full {
			r, err := status.Reconcile(ctx, c, batch)
			if err != nil {
				return last, err
			}
			last = r
		}
		if !full || last.Queued < 0 {
			last.Queued = queued
		}
		if o.Progress != nil {
			o.Progress(last)
		}
		// Settled is judged on fresh counts only (its queue test needs
		// them: an empty queue with stale counts proves nothing). A batch
		// that settled with ops lost is taken as such only after Quiet idle
		// polls (below): SQS's queue counts are approximate, and one empty
		// reading could miss a message in flight.
		if full && last.Settled() && last.Lost == 0 {
			return last, nil
		}
		// Without a report, only the twin can tell that none is coming;
		// a batch still splitting (chunks queued) is not idle whatever
		// the ops queue says.
		splitting := last.Report != nil && last.Report.Status == record.ReportSplitting
		if idle && !splitting && (last.Report != nil || o.Idle != nil) {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= o.Quiet {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}
