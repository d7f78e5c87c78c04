package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRIE answers invocations after delay and records whether two ever
// overlapped (the real emulator crashes when they do).
type fakeRIE struct {
	delay   time.Duration
	busy    atomic.Int32
	overlap atomic.Bool
	calls   atomic.Int32
}

func (f *fakeRIE) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if f.busy.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.busy.Add(-1)
	f.calls.Add(1)
	time.Sleep(f.delay)
	_, _ = w.Write([]byte(`{"batchItemFailures":[]}`))
}

func startFakes(t *testing.T, n int, delay time.Duration) ([]*fakeRIE, []*Proc) {
	var fakes []*fakeRIE
	var procs []*Proc
	for range n {
		f := &fakeRIE{delay: delay}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		fakes = append(fakes, f)
		procs = append(procs, &Proc{Name: "fake", Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	return fakes, procs
}

func TestPoolOneInvocationPerProcess(t *testing.T) {
	fakes, procs := startFakes(t, 2, 2*time.Millisecond)
	p := newPool(procs...)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 10 {
				if _, err := p.Invoke(context.Background(), []byte(`{}`)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	total := int32(0)
	for i, f := range fakes {
		if f.overlap.Load() {
			t.Errorf("process %d got two invocations at once", i)
		}
		total += f.calls.Load()
	}
	if total != 60 {
		t.Errorf("%d invocations reached the processes, want 60", total)
	}
}

// A caller that gives up does not free the process before it has answered.
func TestPoolKeepsAProcessUntilItAnswers(t *testing.T) {
	fakes, procs := startFakes(t, 1, 300*time.Millisecond)
	p := newPool(procs...)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke = %v, want the caller's deadline", err)
	}
	start := time.Now()
	if _, err := p.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("the second invocation started after %v, before the first had answered", waited)
	}
	if fakes[0].overlap.Load() {
		t.Error("two invocations overlapped")
	}
}
