package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
)

// startSleepers runs testdata/sleeper under aws-lambda-rie with a 1 s
// function timeout.
func startSleepers(t *testing.T, processes int) (*local.RIEPool, *lockedWriter) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts aws-lambda-rie")
	}
	root := localtest.RepoRoot(t)
	rie := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(rie); err != nil {
		t.Skipf("no aws-lambda-rie (make bin/aws-lambda-rie): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bootstrap, err := local.BuildFunction(ctx, filepath.Join("testdata", "sleeper"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := &lockedWriter{w: &strings.Builder{}}
	pool, err := local.StartRIE(ctx, local.RIEConfig{RIE: rie, Bootstrap: bootstrap, Processes: processes,
		Env: []string{"PATH=/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_TIMEOUT=1"}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Stop)
	return pool, log
}

func invokeSleep(pool *local.RIEPool, d string, within time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	out, err := pool.Invoke(ctx, []byte(`{"sleep": "`+d+`"}`))
	return string(out), err
}

// An invocation that outlives the function's timeout is a function error
// of type Sandbox.Timedout, as on Lambda (not the emulator's bare "Task
// timed out" text taken for an answer), and the next invocation runs in a
// fresh runtime environment.
func TestRIEPoolTimedOutInvocation(t *testing.T) {
	pool, _ := startSleepers(t, 1)
	out, err := invokeSleep(pool, "3s", 30*time.Second)
	var fe *local.FunctionError
	if !errors.As(err, &fe) || fe.Type != local.TimeoutErrorType {
		t.Fatalf("a 3 s invocation of a 1 s function = %q, %v; want a %s function error", out, err, local.TimeoutErrorType)
	}
	if out, err := invokeSleep(pool, "10ms", 30*time.Second); err != nil || out != `"slept"` {
		t.Fatalf("the invocation after a timeout = %q, %v; want \"slept\"", out, err)
	}
	if n := pool.Replaced.Load(); n != 1 {
		t.Errorf("%d processes replaced, want the timed-out one", n)
	}
}

// An emulator that stops answering (here: stopped with SIGSTOP, as a hung
// aws-lambda-rie is) costs the invocation under way, never the pool: the
// invocation ends at the function's timeout and a grace, the process is
// replaced, and the next invocation is answered. Before the pool bounded
// invocations, the hung process never came back and every later Invoke
// waited for a free process until its caller gave up: the twin stored
// nothing more.
func TestRIEPoolReplacesAHungEmulator(t *testing.T) {
	pool, log := startSleepers(t, 1)
	if out, err := invokeSleep(pool, "10ms", 30*time.Second); err != nil {
		t.Fatalf("first invocation: %q, %v", out, err)
	}
	pids := pool.PIDs()
	if len(pids) != 1 {
		t.Fatalf("pids = %v", pids)
	}
	// Stop aws-lambda-rie and its function mid-life: the next invocation
	// is accepted by the kernel and never answered.
	if err := syscall.Kill(-pids[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := invokeSleep(pool, "10ms", time.Minute)
	var fe *local.FunctionError
	if !errors.As(err, &fe) || fe.Type != local.TimeoutErrorType {
		t.Fatalf("invocation of a hung emulator: %v; want a %s function error", err, local.TimeoutErrorType)
	}
	if el := time.Since(start); el > 1*time.Second+local.RIEGrace+2*time.Second {
		t.Errorf("the hung invocation ended after %v, want about the 1 s timeout and the %v grace", el, local.RIEGrace)
	}
	// The caller of the next invocation gives up after 30 s, as the
	// event source mapping does after the function's timeout.
	if out, err := invokeSleep(pool, "10ms", 30*time.Second); err != nil || out != `"slept"` {
		t.Fatalf("the invocation after the hung one = %q, %v; want \"slept\" from a new process (log:\n%s)", out, err, log)
	}
	if got := pool.PIDs(); len(got) != 1 || got[0] == pids[0] {
		t.Errorf("pids after the replacement = %v, before %v", got, pids)
	}
}

// lockedWriter serialises the writes of several processes' output.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// Stop ends the processes while callers still invoke (the twin's pollers
// may outlive the pool by a moment): the invocations under way end, later
// ones fail at once, and Stop returns.
func TestRIEPoolStopsUnderLoad(t *testing.T) {
	pool, _ := startSleepers(t, 2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = invokeSleep(pool, "50ms", 5*time.Second)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	done := make(chan struct{})
	go func() { pool.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Stop did not return")
	}
	if _, err := invokeSleep(pool, "10ms", 5*time.Second); err == nil {
		t.Error("an invocation after Stop succeeded")
	}
	close(stop)
	wg.Wait()
}
