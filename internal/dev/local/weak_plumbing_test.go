package local

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/memohq/memo/internal/dev/weak"
)

// failing is a function that always fails, and notes when it was invoked.
type failing struct {
	mu  sync.Mutex
	at  []time.Time
	err error
}

func (f *failing) Invoke(context.Context, []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = append(f.at, time.Now())
	return nil, f.err
}

func quietDelivery(w weak.Config, fn Invoker) *s3Delivery {
	return &s3Delivery{splitter: fn, timeout: time.Second, log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		busy: &atomic.Int64{}, weak: weak.New(w)}
}

// With the weak promises, asynchronous invocation retries a failed event
// twice, one and then two more of weak.Config.AsyncMinute later (Lambda:
// one and two minutes), not at the twin's quick 1 and 2 seconds.
func TestAsyncRetriesComeLate(t *testing.T) {
	const minute = 150 * time.Millisecond
	fn := &failing{err: errors.New("split failed")}
	d := quietDelivery(weak.Config{AsyncMinute: minute}, fn)
	start := time.Now()
	d.invoke(context.Background(), []byte(`{}`))
	if len(fn.at) != 3 {
		t.Fatalf("%d attempts, want 3 (the first and two retries)", len(fn.at))
	}
	if first, second := fn.at[1].Sub(fn.at[0]), fn.at[2].Sub(fn.at[1]); first < minute || second < 2*minute {
		t.Errorf("retries after %v and %v, want at least %v and %v", first, second, minute, 2*minute)
	}
	if el := time.Since(start); el > 3*minute+2*time.Second {
		t.Errorf("the invocation took %v", el)
	}
}

// A throttled asynchronous event is retried without using up a retry, and
// given up only at its maximum age (six hours: 360 AsyncMinutes).
func TestAsyncThrottledEventRetriedUntilItsMaximumAge(t *testing.T) {
	const minute = 2 * time.Millisecond
	fn := &failing{}
	d := quietDelivery(weak.Config{AsyncMinute: minute, Throttles: 1}, fn)
	start := time.Now()
	d.invoke(context.Background(), []byte(`{}`))
	if len(fn.at) != 0 {
		t.Errorf("a function always throttled ran %d times", len(fn.at))
	}
	if el := time.Since(start); el < 360*minute {
		t.Errorf("gave up after %v, before the event's maximum age (%v, twin time)", el, 360*minute)
	}
	if n := d.weak.Stats.Throttled.Load(); n < 3 {
		t.Errorf("%d throttled attempts", n)
	}
	// Throttled, then run: the throttles did not use up its retries.
	fn.err = errors.New("split failed")
	d = quietDelivery(weak.Config{AsyncMinute: minute, Throttles: 0.5, Seed: 3}, fn)
	d.invoke(context.Background(), []byte(`{}`))
	if len(fn.at) != 3 || d.weak.Stats.Throttled.Load() == 0 {
		t.Errorf("%d attempts with %d throttles, want 3 attempts whatever the throttles", len(fn.at), d.weak.Stats.Throttled.Load())
	}
}

// A throttled batch of the event source mapping is not run and not
// deleted: SQS returns it after the visibility timeout, one receive more
// toward maxReceiveCount. (The mapping has no SQS client here: a delete
// would fail the test.)
func TestMappingLeavesAThrottledBatchToSQS(t *testing.T) {
	fn := &failing{}
	var stats Stats
	m := &eventSourceMapping{queueURL: "q", compute: fn, timeout: time.Second, log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		busy: &atomic.Int64{}, stats: &stats, weak: weak.New(weak.Config{Throttles: 1})}
	m.process(context.Background(), []types.Message{{MessageId: aws.String("m1"), ReceiptHandle: aws.String("h1"), Body: aws.String("{}")}})
	if len(fn.at) != 0 || stats.Invocations.Load() != 0 || stats.Throttled.Load() != 1 {
		t.Errorf("invoked %d times, %d invocations, %d throttled; want the batch throttled, not run", len(fn.at), stats.Invocations.Load(), stats.Throttled.Load())
	}
}
