package compute

import (
	"context"
	"errors"

	"github.com/memohq/memo/internal/pipeline/record"
)

// ErrAlreadyStored says that the name already holds this very upload's
// result (the same batch and stamp): the op was delivered again (SQS
// delivers at least once) or its message was redelivered after a partial
// failure. Nothing was written; the op is final and is not counted again.
var ErrAlreadyStored = errors.New("the name already holds this upload's result")

// Tally is what one invocation did to the ops of one batch: the amounts
// compute adds to that batch's counters.
type Tally struct {
	Batch string
	Stamp record.Stamp
	// OK and Error count the results this invocation stored (first
	// stores only: ErrAlreadyStored is not counted), Superseded the ops
	// refused because the name holds a newer upload's result.
	OK, Error, Superseded int
}

// Tallier adds an invocation's tallies to the per-batch counters (the
// batches table: one update per batch per invocation, not per op).
type Tallier interface {
	Add(ctx context.Context, tallies []Tally) error
}

// StoredReader reads the results the names hold now (an eventually
// consistent read). The ops of a redelivered message are looked up
// before they are written again, so that the ones already final are not
// written twice.
type StoredReader interface {
	Get(ctx context.Context, names []string) (map[string]record.Result, error)
}
