package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDelayIsCappedAndJittered(t *testing.T) {
	p := Policy{Attempts: 10, Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n := 1; n <= 10; n++ {
		cap := p.Base << (n - 1)
		if cap > p.Max {
			cap = p.Max
		}
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := p.Delay(n)
			if d < 0 || d > cap {
				t.Fatalf("retry %d: delay %v outside [0, %v]", n, d, cap)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("retry %d: %d distinct delays in 200 draws: not jittered", n, len(seen))
		}
	}
}

func TestWaitStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := Policy{Attempts: 2, Base: time.Hour, Max: time.Hour}
	start := time.Now()
	if err := p.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Wait did not return promptly on a cancelled context")
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("access denied")
	err := fmt.Errorf("send: %w", Permanent(base))
	if !IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = false, want true", err)
	}
	if !errors.Is(err, base) {
		t.Errorf("errors.Is(%v, base) = false: Permanent lost the cause", err)
	}
	if IsPermanent(base) {
		t.Error("IsPermanent of a plain error = true, want false")
	}
	if err := Permanent(nil); err != nil {
		t.Errorf("Permanent(nil) = %v, want nil", err)
	}
}

// The worst case of the two retry layers, as the package comment and
// docs/design.md state it (test/layout checks the doc's copy).
func TestWorstCase(t *testing.T) {
	if got := WorstCaseAttempts(); got != 24 {
		t.Errorf("WorstCaseAttempts() = %d, want 24 (8 x 3)", got)
	}
	if got, want := WorstCaseSleep(), 21150*time.Millisecond; got != want {
		t.Errorf("WorstCaseSleep() = %v, want %v", got, want)
	}
}

// TestDefault pins the policy the services document: 8 tries, the first
// retry waiting at most 50ms, doubling up to 2s, so that the 7 waits of a
// call that never succeeds add up to at most 5.15s.
func TestDefault(t *testing.T) {
	want := Policy{Attempts: 8, Base: 50 * time.Millisecond, Max: 2 * time.Second}
	if diff := cmp.Diff(want, Default); diff != "" {
		t.Fatalf("Default (-want +got):\n%s", diff)
	}
	var worst time.Duration
	for n := 1; n < Default.Attempts; n++ {
		worst += min(Default.Base<<(n-1), Default.Max)
	}
	if worst != 5150*time.Millisecond {
		t.Fatalf("worst-case wait %v", worst)
	}
}

// TestDelayGrowsAndNeverCollapses: later retries wait longer than the
// first, and the delay stays at the cap however many retries came before
// (doubling past the cap would overflow and end at zero).
func TestDelayGrowsAndNeverCollapses(t *testing.T) {
	p := Policy{Base: time.Millisecond, Max: 2 * time.Second}
	for _, n := range []int{3, 40, 200} {
		var longest time.Duration
		for range 200 {
			d := p.Delay(n)
			if d < 0 || d > p.Max {
				t.Fatalf("retry %d: delay %v outside [0, %v]", n, d, p.Max)
			}
			longest = max(longest, d)
		}
		if longest <= p.Base {
			t.Errorf("retry %d: longest of 200 delays %v, want above the first retry's cap %v", n, longest, p.Base)
		}
	}
}

// TestDelayJitterIncludesTheCap: full jitter draws from [0, cap], both ends
// included.
func TestDelayJitterIncludesTheCap(t *testing.T) {
	for _, c := range []time.Duration{1, 2} {
		p := Policy{Base: c, Max: c}
		seen := map[time.Duration]bool{}
		for range 400 {
			seen[p.Delay(1)] = true
		}
		for d := time.Duration(0); d <= c; d++ {
			if !seen[d] {
				t.Errorf("cap %v: delay %v never drawn in 400 tries (%v)", c, d, seen)
			}
		}
	}
}

// TestSleepContext: it waits d, and a done context wins even for d = 0.
func TestSleepContext(t *testing.T) {
	start := time.Now()
	if err := SleepContext(context.Background(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("SleepContext(20ms) = %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if err := SleepContext(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("SleepContext(done, 0) = %v, want context.Canceled", err)
		}
	}
}
