package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
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
	if !IsPermanent(err) || !errors.Is(err, base) {
		t.Fatalf("IsPermanent(%v) = false or lost the cause", err)
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Fatal("plain error reported permanent")
	}
}

// The worst case of the two retry layers, as the package comment and the
// README state it.
func TestWorstCase(t *testing.T) {
	if got := WorstCaseAttempts(); got != 24 {
		t.Errorf("WorstCaseAttempts() = %d, want 24 (8 x 3)", got)
	}
	if got, want := WorstCaseSleep(), 21150*time.Millisecond; got != want {
		t.Errorf("WorstCaseSleep() = %v, want %v", got, want)
	}
}
