package inmem

import (
	"context"
	"sync"

	"github.com/memohq/memo/internal/pipeline/compute"
)

// Batches is the batches table's counters in memory (internal/aws/batches):
// a compute.Tallier whose Add sums each tally into its batch's counters,
// as UpdateItem ADD does.
type Batches struct {
	mu     sync.Mutex
	counts map[string]compute.Tally
	// Fail, when set and returning an error, fails one Add call whole
	// (nothing added), as a throttled UpdateItem does.
	Fail func([]compute.Tally) error
}

var _ compute.Tallier = (*Batches)(nil)

// NewBatches returns empty counters.
func NewBatches() *Batches { return &Batches{counts: map[string]compute.Tally{}} }

// Add implements compute.Tallier.
func (b *Batches) Add(_ context.Context, tallies []compute.Tally) error {
	if b.Fail != nil {
		if err := b.Fail(tallies); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range tallies {
		c := b.counts[t.Batch]
		c.Batch, c.Stamp = t.Batch, t.Stamp
		c.OK += t.OK
		c.Error += t.Error
		c.Superseded += t.Superseded
		b.counts[t.Batch] = c
	}
	return nil
}

// Counts returns a batch's counters (zero when none was added).
func (b *Batches) Counts(batch string) compute.Tally {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts[batch]
}
