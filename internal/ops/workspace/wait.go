package workspace

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

// WaitOptions tune Wait.
type WaitOptions struct {
	// Poll is the interval between checks (default 500ms).
	Poll time.Duration
	// FullEvery: while the pipeline is busy, a full reconciliation (which
	// reads the batch's whole index) runs every FullEvery poll intervals,
	// or less often when it is slow (at most a tenth of the time); the
	// polls between only read the ops queue's depth and, until it exists,
	// the report (default 10).
	FullEvery int
	// Idle, when set, says whether the pipeline has nothing left to do
	// (the twin knows); otherwise an empty ops queue is taken as idle.
	Idle func(ctx context.Context) (bool, error)
	// Quiet is how many consecutive idle polls end the wait with ops
	// unaccounted for (default 4).
	Quiet int
	// Stall, when set, ends the wait with ErrStalled once nothing has moved
	// for that long: no change in the ops accounted for, the ops queue's
	// depth, the report or the chunks done. A batch that keeps moving is
	// waited for however long it takes. While the batch is splitting, the
	// limit is at least one chunk retry (see stallLimit).
	Stall time.Duration
	// Progress is called after every poll. Between full reconciliations
	// the counts are those of the last one, and Queued is fresh.
	Progress func(status.Reconciliation)
}

// ErrStalled is returned by Wait when nothing moved for WaitOptions.Stall.
var ErrStalled = fmt.Errorf("no progress")

// Wait follows a batch until every op is accounted for, or until the
// pipeline has been idle for a while with ops still missing (they are then
// lost), or until nothing has moved for o.Stall, or until ctx ends. It
// returns the last full reconciliation.
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
	var still stillness
	var lastFull time.Time
	chunkVisibility := time.Duration(-1) // read once, when a batch is splitting
	var fullCost time.Duration           // how long the last full reconciliation took
	lastDLQ := time.Now()                // the last account that read the DLQ (none yet: a busy start skips it)
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
		// A full reconciliation reads the batch's counters, and every
		// name of the batch once it has settled short of them (which
		// grows with it): it runs every FullEvery polls, but never more than
		// a tenth of the time (on the twin it shares moto with the
		// pipeline), and at once when the pipeline is idle or the report
		// appears. Until the report exists only it is read between them.
		full := idle || lastFull.IsZero() ||
			time.Since(lastFull) >= max(time.Duration(o.FullEvery)*o.Poll, 9*fullCost)
		if !full && last.Report == nil {
			_, found, err := c.Report(ctx, batch)
			if err != nil {
				return last, err
			}
			full = found
		}
		if full {
			t := time.Now()
			reconcile := status.Reconcile
			if skipDLQ(idle, time.Since(lastDLQ)) {
				reconcile = status.ReconcileBusy
			}
			r, err := reconcile(ctx, c, batch)
			if err != nil {
				return last, err
			}
			last, lastFull, fullCost = r, time.Now(), time.Since(t)
			if !r.DLQSkipped {
				lastDLQ = lastFull
			}
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
		// Without the twin's knowledge (o.Idle), idle polls end a wait
		// only once the batch has settled by AWS's clock too: the queue's
		// counts read empty at least status.CountLag after the split, a
		// failed split's retries over (status.FailedSettleAfter).
		if quiet >= o.Quiet && (o.Idle != nil || last.Settled()) {
			// Ops missing by the counters alone may be stored and not
			// counted (an invocation that died before its counter
			// update): the last word is the account by names. It is read
			// strongly consistent (Client.Consistent), also after an
			// account by names made during the wait: the last results may
			// have been written a moment before, and an eventually
			// consistent read could call them lost.
			if last.Lost > 0 {
				why, _, _ := strings.Cut(last.Reconciled, "; ")
				if why == "" {
					why = status.ReasonIdle
				}
				r, err := status.ReconcileExact(ctx, c.Consistent(), batch)
				if err != nil {
					return last, err
				}
				r.Reconciled = strings.Replace(r.Reconciled, status.ReasonAsked, why, 1)
				return r, nil
			}
			return last, nil
		}
		if o.Stall > 0 {
			if splitting && chunkVisibility < 0 {
				chunkVisibility = c.chunkVisibility(ctx)
			}
			limit := stallLimit(o.Stall, splitting, chunkVisibility)
			if still.since(last, time.Now()) >= limit {
				if last.DLQSkipped {
					if r, err := status.Reconcile(ctx, c, batch); err == nil {
						if r.Queued < 0 {
							r.Queued = last.Queued
						}
						last = r
						if r.Settled() && r.Lost == 0 {
							return r, nil // the DLQ's names were all it lacked
						}
					}
				}
				return last, fmt.Errorf("%w for %v", ErrStalled, limit)
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// busyDLQEvery is how often a wait reads the DLQ while the ops queue is
// busy. The queue is the workspace's, not the batch's: another batch can
// keep it busy for as long as it runs, and this batch's ops that wait in
// the DLQ settle it only once they are read.
const busyDLQEvery = 10 * time.Second

// skipDLQ reports whether a poll's account may skip the DLQ: while the
// pipeline is busy no verdict needs its names, and a peek costs seconds
// (status.ReconcileBusy), but not for longer than busyDLQEvery; every
// account the wait ends on reads it (an idle pipeline's).
func skipDLQ(idle bool, sinceDLQ time.Duration) bool {
	return !idle && sinceDLQ < busyDLQEvery
}

// stillness tracks how long a batch has not moved, as a wait sees it: the
// ops accounted for, the ops queue's depth, the total and whether the
// report exists.
type stillness struct {
	seen mark
	at   time.Time // when seen was first seen
}

type mark struct {
	accounted, queued, total, chunksDone int
	report                               bool
}

// since returns how long r has looked the same up to now.
func (s *stillness) since(r status.Reconciliation, now time.Time) time.Duration {
	m := mark{r.OK + r.Error + r.Rejected + r.DLQ, r.Queued, r.Total, r.ChunksDone, r.Report != nil}
	if s.at.IsZero() || m != s.seen {
		s.seen, s.at = m, now
	}
	return now.Sub(s.at)
}

// stallLimit is how long a wait lets a batch stand still. A chunk that
// failed or was throttled comes back only after the chunk queue's
// visibility timeout (6 x the splitter timeout: 30 minutes at Terraform's
// defaults), and then runs up to one splitter timeout (a sixth of it), so
// while the batch is splitting the limit is at least that long: a 20-minute
// stall would give up on a batch that is only waiting for its chunk's
// retry. chunkVisibility <= 0 (unknown) leaves stall as it is.
func stallLimit(stall time.Duration, splitting bool, chunkVisibility time.Duration) time.Duration {
	if !splitting || chunkVisibility <= 0 {
		return stall
	}
	return max(stall, chunkVisibility+chunkVisibility/6)
}

// chunkVisibility reads the chunk queue's visibility timeout; 0 when it
// cannot (no chunk queue named, or the call failed: the stall stays as set).
func (c *Client) chunkVisibility(ctx context.Context) time.Duration {
	if c.Res.ChunkQueueURL == "" {
		return 0
	}
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(c.Res.ChunkQueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return 0
	}
	secs, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}
