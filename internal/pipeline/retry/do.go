package retry

import (
	"context"
	"fmt"
	"time"
)

// Do calls fn with attempt = 1, 2, ... until fn returns nil, fn returns an
// error marked Permanent, or p.Attempts tries have failed, waiting p.Wait
// between tries. What it returns says why it stopped:
//
//   - nil: a try succeeded;
//   - fn's error as fn returned it (still marked Permanent): retrying
//     cannot help. A caller whose own rule says "do not retry this" (a
//     broken file, a newer result) marks the error with Permanent in fn;
//   - an error wrapping fn's last error, "gave up after N attempts: ...",
//     when p.Attempts tries failed;
//   - an error wrapping both the wait's error (the context's) and fn's
//     last error, when the context ended before the next try.
//
// errors.Is and errors.As see fn's error through every case.
func (p Policy) Do(ctx context.Context, fn func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil || IsPermanent(err) {
			return err
		}
		if attempt >= p.Attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if werr := p.Wait(ctx, attempt); werr != nil {
			return fmt.Errorf("%w after %d attempts (last error: %w)", werr, attempt, err)
		}
	}
}

// BeforeDeadline returns ctx with its deadline moved margin earlier, so that
// a handler keeps margin to answer (a report, a partial batch response)
// after its work is cut short. Without a deadline ctx is returned as is.
func BeforeDeadline(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}
