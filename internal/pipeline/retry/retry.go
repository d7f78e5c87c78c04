// Package retry is memo's one backoff policy: capped exponential backoff with
// full jitter, bounded in attempts and by the caller's context.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy bounds retries. The zero value is not useful; use Default.
type Policy struct {
	// Attempts is the total number of tries, the first included.
	Attempts int
	// Base is the delay cap of the first retry; it doubles each retry.
	Base time.Duration
	// Max caps any single delay.
	Max time.Duration
	// Sleep waits d or until ctx is done; nil means a real timer. Tests
	// replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Default is used by the splitter and compute services: 8 tries, delays of
// at most 50ms, 100ms, 200ms ... capped at 2s (5.15s of waits in the worst case).
var Default = Policy{Attempts: 8, Base: 50 * time.Millisecond, Max: 2 * time.Second}

// Delay returns the jittered delay before retry number n (n >= 1).
func (p Policy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = max(min(d, p.Max), 0)
	return time.Duration(rand.Int64N(int64(d) + 1)) // full jitter
}

// Wait sleeps before retry number n, returning early with ctx's error.
func (p Policy) Wait(ctx context.Context, n int) error {
	d := p.Delay(n)
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return SleepContext(ctx, d)
}

// SleepContext waits d or until ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that IsPermanent reports true. Adapters use it for
// errors such as access denied or a missing resource.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
