package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// Counter counts SDK calls by "Service.Operation": the operation calls a
// program makes, and the HTTP attempts they cost (the SDK's retries
// included). Add Counter.APIOption to a config's APIOptions.
type Counter struct {
	mu       sync.Mutex
	calls    map[string]int64
	attempts map[string]int64
}

// NewCounter returns a Counter at zero.
func NewCounter() *Counter {
	return &Counter{calls: map[string]int64{}, attempts: map[string]int64{}}
}

// APIOption adds the counter to a middleware stack.
func (c *Counter) APIOption(stack *middleware.Stack) error {
	// Initialize runs once per operation call; the end of the finalize
	// step, after the retry middleware, once per attempt.
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("memo.faults.CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(c.calls, ctx)
			return next.HandleInitialize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("memo.faults.CountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.add(c.attempts, ctx)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (c *Counter) add(m map[string]int64, ctx context.Context) {
	svc, op := opOf(ctx)
	c.mu.Lock()
	m[Key(svc, op)]++
	c.mu.Unlock()
}

// Calls returns the operation calls by "Service.Operation".
func (c *Counter) Calls() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyMap(c.calls)
}

// Attempts returns the HTTP attempts by "Service.Operation".
func (c *Counter) Attempts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyMap(c.attempts)
}

// Totals returns the number of calls and attempts of every operation.
func (c *Counter) Totals() (calls, attempts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.calls {
		calls += n
	}
	for _, n := range c.attempts {
		attempts += n
	}
	return calls, attempts
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.attempts = map[string]int64{}, map[string]int64{}
}

// String lists the counts, one operation per line, sorted.
func (c *Counter) String() string {
	calls, attempts := c.Calls(), c.Attempts()
	var ops []string
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s: calls=%d attempts=%d\n", op, calls[op], attempts[op])
	}
	return b.String()
}
