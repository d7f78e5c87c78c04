package retry

import (
	"context"
	"fmt"
)

// Failure is one entry of a batch call (SQS SendMessageBatch) that the
// service did not take while the call itself succeeded.
type Failure struct {
	// Index is the entry's position in the slice passed to the call.
	Index int
	// Reason is the service's code and message.
	Reason string
	// Permanent is true when the service blames the sender (SQS's
	// SenderFault): retrying cannot help.
	Permanent bool
}

// Batch sends items with call, one call per try under p (see Do): a try
// sends what is still pending, which is every item at first and then the
// entries the previous call reported in its failures, or all of them when
// the call failed as a whole with an error not marked Permanent. A failure
// marked Permanent ends it with a Permanent error naming the item (name
// describes one, e.g. `op "a"`). It returns the number of calls made.
//
// SendMessageBatch "can succeed while entries fail" and answers HTTP 200
// then: the SDK's retryer sees nothing to retry, so memo must.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
func Batch[T any](ctx context.Context, p Policy, items []T, name func(T) string,
	call func(ctx context.Context, items []T) ([]Failure, error)) (calls int, err error) {
	pending := items
	err = p.Do(ctx, func(int) error {
		calls++
		failures, err := call(ctx, pending)
		if err != nil {
			return err
		}
		var next []T
		for _, f := range failures {
			if f.Index < 0 || f.Index >= len(pending) {
				return Permanent(fmt.Errorf("a failure for entry %d of a call of %d", f.Index, len(pending)))
			}
			if f.Permanent {
				return Permanent(fmt.Errorf("refused %s: %s", name(pending[f.Index]), f.Reason))
			}
			next = append(next, pending[f.Index])
		}
		if len(next) == 0 {
			return nil
		}
		err = fmt.Errorf("%d of %d entries failed, first: %s", len(next), len(pending), failures[0].Reason)
		pending = next
		return err
	})
	return calls, err
}
