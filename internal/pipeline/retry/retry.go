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

// memo retries at two layers, each with its own job, both set here:
//
//   - The SDK's standard retryer (SDK below; internal/aws/awsconfig applies
//     it to every client) retries one HTTP request that failed as a whole
//     and is safe to repeat: throttling, 5xx, a reset or timed-out
//     connection. It sees nothing of a call that succeeded with HTTP 200.
//   - Default (memo's own) retries what the SDK cannot see: the entries a
//     SendMessageBatch reports in Failed[], the UnprocessedItems and
//     UnprocessedKeys of a BatchWriteItem or BatchGetItem, and a whole call
//     the SDK gave up on (its attempts or its retry quota spent), unless the
//     adapter marked the error Permanent.
//
// The layers multiply. One logical call makes at most
// Default.Attempts x SDK.Attempts = 8 x 3 = 24 HTTP attempts, and sleeps at
// most WorstCaseSleep() = 5.15s (memo: 50ms+100ms+...+1.6s+2s) + 8 x 2 x 1s
// (SDK: two backoffs of at most SDK.MaxBackoff per memo attempt) = 21.15s,
// plus the time of the attempts themselves. The caller's context (the
// Lambda deadline less the services' margin) cuts either layer short.
// TestWorstCase keeps these figures true; test/layout keeps
// docs/design.md's copy equal to them.

// Default is used by the splitter and compute services and the DynamoDB
// adapter: 8 tries, delays of at most 50ms, 100ms, 200ms ... capped at 2s.
var Default = Policy{Attempts: 8, Base: 50 * time.Millisecond, Max: 2 * time.Second}

// SDKPolicy is the AWS SDK standard retryer's setting, in plain values so
// that the domain stays free of the SDK.
type SDKPolicy struct {
	// Attempts is the SDK's total tries of one HTTP request (its
	// MaxAttempts), the first included.
	Attempts int
	// MaxBackoff caps one of the SDK's jittered backoffs.
	MaxBackoff time.Duration
}

// SDK is what awsconfig gives the standard retryer: its default 3 attempts,
// and backoffs capped at 1s instead of its default 20s, so that the SDK's
// layer stays short under memo's own.
var SDK = SDKPolicy{Attempts: 3, MaxBackoff: time.Second}

// WorstCaseAttempts is the most HTTP attempts one logical call can make.
func WorstCaseAttempts() int { return Default.Attempts * SDK.Attempts }

// WorstCaseSleep is the longest one logical call can spend sleeping between
// attempts, at both layers.
func WorstCaseSleep() time.Duration {
	var d time.Duration
	for n := 1; n < Default.Attempts; n++ {
		d += Default.cap(n)
	}
	return d + time.Duration(Default.Attempts*(SDK.Attempts-1))*SDK.MaxBackoff
}

// cap is the largest delay before retry number n (n >= 1).
func (p Policy) cap(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return max(min(d, p.Max), 0)
}

// Delay returns the jittered delay before retry number n (n >= 1).
func (p Policy) Delay(n int) time.Duration {
	d := p.cap(n)
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
