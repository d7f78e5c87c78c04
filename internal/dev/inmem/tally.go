package inmem

import (
	"context"
	"sync"

	"github.com/memohq/memo/internal/pipeline/compute"
)

// Tallier is an in-memory compute.Tallier: counters by batch (and stamp),
// the amounts every Add brought.
type Tallier struct {
	mu     sync.Mutex
	counts map[[2]string]compute.Tally
	// Fail, when set and returning an error, fails one Add call (nothing
	// is added, as a failed UpdateItem adds nothing).
	Fail  func(tallies []compute.Tally) error
	Calls int
}

var _ compute.Tallier = (*Tallier)(nil)

// Add implements compute.Tallier.
func (t *Tallier) Add(ctx context.Context, tallies []compute.Tally) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Calls++
	if t.Fail != nil {
		if err := t.Fail(tallies); err != nil {
			return err
		}
	}
	if t.counts == nil {
		t.counts = map[[2]string]compute.Tally{}
	}
	for _, a := range tallies {
		k := [2]string{a.Batch, a.Stamp}
		c := t.counts[k]
		c.Batch, c.Stamp = a.Batch, a.Stamp
		c.OK += a.OK
		c.Error += a.Error
		c.Superseded += a.Superseded
		t.counts[k] = c
	}
	return nil
}

// Counts returns the counters of every batch, keyed by batch id (the
// stamps of one batch id added up).
func (t *Tallier) Counts() map[string]compute.Tally {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]compute.Tally{}
	for _, c := range t.counts {
		o := out[c.Batch]
		o.Batch = c.Batch
		o.OK += c.OK
		o.Error += c.Error
		o.Superseded += c.Superseded
		out[c.Batch] = o
	}
	return out
}
