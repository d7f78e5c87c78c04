package workspace

import (
	"context"
	"time"

	"github.com/memohq/memo/internal/status"
)

// WaitOptions tune Wait.
type WaitOptions struct {
	// Poll is the interval between reconciliations (default 500ms).
	Poll time.Duration
	// Idle, when set, says whether the pipeline has nothing left to do
	// (the twin knows); otherwise an empty ops queue is taken as idle.
	Idle func(ctx context.Context) (bool, error)
	// Quiet is how many consecutive idle polls end the wait with ops
	// unaccounted for (default 4).
	Quiet int
	// Progress is called after every reconciliation.
	Progress func(status.Reconciliation)
}

// Wait reconciles a batch until every op is accounted for, or until the
// pipeline has been idle for a while with ops still missing (they are then
// lost), or until ctx ends. It returns the last reconciliation.
func (c *Client) Wait(ctx context.Context, batch string, o WaitOptions) (status.Reconciliation, error) {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Quiet <= 0 {
		o.Quiet = 4
	}
	idle := o.Idle
	if idle == nil {
		idle = func(ctx context.Context) (bool, error) {
			v, f, err := c.QueueDepth(ctx, c.Res.QueueURL)
			return v+f == 0, err
		}
	}
	quiet := 0
	for {
		r, err := status.Reconcile(ctx, c, batch)
		if err != nil {
			return r, err
		}
		if o.Progress != nil {
			o.Progress(r)
		}
		if r.Settled() {
			return r, nil
		}
		// Without a report, only the twin can tell that none is coming.
		if r.Report != nil || o.Idle != nil {
			ok, err := idle(ctx)
			if err != nil {
				return r, err
			}
			if ok {
				quiet++
			} else {
				quiet = 0
			}
			if quiet >= o.Quiet {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}
