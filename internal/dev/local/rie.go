package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// BuildFunction builds the Go main package in dir as a Lambda custom
// runtime's bootstrap (linux/amd64, static, as a provided.al2023 zip holds
// it) into out/bootstrap and returns its path.
func BuildFunction(ctx context.Context, dir, out string) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(out, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the function in %s: %w\n%s", dir, err, b)
	}
	return bin, nil
}

// RIEConfig starts function processes under aws-lambda-rie.
type RIEConfig struct {
	RIE       string   // the aws-lambda-rie binary
	Bootstrap string   // the function binary
	Env       []string // the function's environment, as Lambda would set it
	// Processes is how many copies run: aws-lambda-rie serves one
	// invocation at a time (a second concurrent one crashes it).
	Processes int
	// Timeout is the function's timeout (0: AWS_LAMBDA_FUNCTION_TIMEOUT of
	// Env, else aws-lambda-rie's default, 300 s): an invocation without an
	// answer by then, and a grace, is ended (RIEPool.Invoke).
	Timeout time.Duration
	Log     io.Writer // their output (nil discards it)
}

// timeout is c.Timeout, or what aws-lambda-rie reads from the environment.
func (c RIEConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "AWS_LAMBDA_FUNCTION_TIMEOUT="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 300 * time.Second
}

// RIEGrace is how long after the function's timeout an invocation that has
// not answered is ended: aws-lambda-rie answers a timed-out invocation
// itself ("Task timed out after N.00 seconds"), the grace covers a slow
// answer on a loaded machine.
const RIEGrace = 3 * time.Second

// RIEPool invokes function processes under aws-lambda-rie, one invocation
// per process at a time: callers wait for a free one. It keeps Lambda's
// promise about a timed-out invocation: "If the Lambda function crashes or
// times out during the Invoke phase, Lambda resets the execution
// environment" ("Understanding the Lambda execution environment
// lifecycle", AWS Lambda Developer Guide), and the next invocation runs in
// a fresh one. An invocation is bounded by the function's timeout and
// RIEGrace; one that timed out, or ended without the emulator's answer
// (no answer by then, a refused or broken connection, an error status),
// has its process replaced by a new one before the slot serves again. An
// emulator that stopped answering thus costs one invocation, never the
// pool.
type RIEPool struct {
	c     RIEConfig
	bound time.Duration
	free  chan *rieProc
	mu    sync.Mutex
	live  map[*rieProc]bool
	stop  chan struct{}
	wg    sync.WaitGroup
	after func() // run by Stop (the fault proxy's end)
	// Replaced counts the processes replaced after a failed invocation.
	Replaced atomic.Int64
}

// rieProc is one aws-lambda-rie process and the function it runs.
type rieProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	rie  *RIE
}

var _ Invoker = (*RIEPool)(nil)

// StartRIE starts c.Processes processes and waits until each listens.
func StartRIE(ctx context.Context, c RIEConfig) (*RIEPool, error) {
	if c.Processes < 1 {
		c.Processes = 1
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	p := &RIEPool{c: c, bound: c.timeout() + RIEGrace, free: make(chan *rieProc, c.Processes),
		live: map[*rieProc]bool{}, stop: make(chan struct{})}
	for range c.Processes {
		pr, err := p.start(ctx)
		if err != nil {
			p.Stop()
			return nil, err
		}
		p.free <- pr
	}
	return p, nil
}

// start starts one process and waits until it listens.
func (p *RIEPool) start(ctx context.Context) (*rieProc, error) {
	ports := [2]int{}
	for i := range ports {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = port
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	cmd := exec.Command(p.c.RIE, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]), p.c.Bootstrap)
	cmd.Env = p.c.Env
	cmd.Stdout, cmd.Stderr = p.c.Log, p.c.Log
	// The kernel ends it if memo dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.mu.Lock()
	if p.stopped() {
		p.mu.Unlock()
		return nil, errPoolStopped
	}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("starting %s: %w", p.c.RIE, err)
	}
	pr := &rieProc{cmd: cmd, done: make(chan struct{}), rie: &RIE{URL: "http://" + addr, Client: &http.Client{}}}
	p.live[pr] = true
	p.mu.Unlock()
	go func() { _ = cmd.Wait(); close(pr.done) }()
	if err := waitListening(ctx, addr, pr.done, 30*time.Second); err != nil {
		p.kill(pr)
		return nil, err
	}
	return pr, nil
}

var errPoolStopped = errors.New("the aws-lambda-rie pool is stopped")

func (p *RIEPool) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// Invoke implements Invoker. The invocation runs to its answer or its
// bound whatever the caller does (as a Lambda invocation outlives the
// caller that gave up); a caller that gives up gets its error at once.
func (p *RIEPool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var pr *rieProc
	select {
	case pr = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.stop:
		return nil, errPoolStopped
	}
	type answer struct {
		out []byte
		err error
	}
	done := make(chan answer, 1)
	// Stop waits for the invocations under way: none starts once it began.
	p.mu.Lock()
	if p.stopped() {
		p.mu.Unlock()
		p.free <- pr
		return nil, errPoolStopped
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.bound)
		out, err := pr.rie.Invoke(ictx, payload)
		timedOut := ictx.Err() != nil
		cancel()
		if err != nil && timedOut {
			err = &FunctionError{Type: TimeoutErrorType, Message: fmt.Sprintf("no answer from %s within the function's timeout and %v", pr.rie.URL, RIEGrace)}
		}
		done <- answer{out, err}
		p.release(pr, err)
	}()
	select {
	case a := <-done:
		return a.out, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release gives the process back to the pool, or, after an invocation
// that timed out or got no answer from the emulator, a new one in its
// place (Lambda's reset of the execution environment).
func (p *RIEPool) release(pr *rieProc, err error) {
	var fe *FunctionError
	if err == nil || errors.As(err, &fe) && fe.Type != TimeoutErrorType {
		p.free <- pr
		return
	}
	fmt.Fprintf(p.c.Log, "memo twin: replacing aws-lambda-rie at %s after: %v\n", pr.rie.URL, err)
	p.kill(pr)
	p.Replaced.Add(1)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		np, err := p.start(context.Background())
		if err == nil {
			p.free <- np
			return
		}
		if p.stopped() {
			return
		}
		fmt.Fprintf(p.c.Log, "memo twin: starting a new aws-lambda-rie: %v (again in %v)\n", err, wait)
		select {
		case <-time.After(wait):
		case <-p.stop:
			return
		}
	}
}

// kill ends a process: aws-lambda-rie and the function it started in a
// session of its own.
func (p *RIEPool) kill(pr *rieProc) {
	kids := childrenOf(pr.cmd.Process.Pid)
	_ = syscall.Kill(-pr.cmd.Process.Pid, syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	select {
	case <-pr.done:
	case <-time.After(5 * time.Second):
	}
	p.mu.Lock()
	delete(p.live, pr)
	p.mu.Unlock()
}

// Stop ends the processes and waits for the invocations under way to end.
func (p *RIEPool) Stop() {
	p.mu.Lock()
	if !p.stopped() {
		close(p.stop)
	}
	live := make([]*rieProc, 0, len(p.live))
	for pr := range p.live {
		live = append(live, pr)
	}
	p.mu.Unlock()
	for _, pr := range live {
		p.kill(pr)
	}
	p.wg.Wait()
	if p.after != nil {
		p.after()
		p.after = nil
	}
}

func waitListening(ctx context.Context, addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return errors.New("aws-lambda-rie exited before it listened on " + addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie did not listen on %s within %v", addr, timeout)
		}
	}
}

func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(bytes.TrimSpace(b))) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// ComputeFunction runs a user's compute function (a built bootstrap) under
// aws-lambda-rie for the twin: Options.Compute calls it once the
// resources exist.
type ComputeFunction struct {
	RIE       string
	Bootstrap string
	// Env is added to the environment memo's Terraform gives the compute
	// function (the function's own settings).
	Env []string
	// Processes defaults to the twin's pollers: each may invoke at once.
	Processes int
	// Wrap, when set, wraps the HTTP path from the function to the twin's
	// endpoint (faults.Injector.Handler: --faults reaches the function's
	// own calls, which the twin's SDK options cannot).
	Wrap func(http.Handler) http.Handler
	Log  io.Writer
}

// Start starts the processes with the environment of the twin's compute
// function. Stop the returned pool when the twin stops.
func (f ComputeFunction) Start(ctx context.Context, p Provisioned, s Settings) (*RIEPool, error) {
	endpoint := p.Endpoint
	var stopProxy func()
	if f.Wrap != nil {
		u, stop, err := startWrapProxy(endpoint, f.Wrap)
		if err != nil {
			return nil, err
		}
		endpoint, stopProxy = u, stop
	}
	env := append([]string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + p.Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"PATH=/usr/bin:/bin",
		"MEMO_TABLE=" + p.Table,
		"MEMO_BATCHES_TABLE=" + p.BatchesTable,
		"MEMO_WORKSPACE=" + p.Workspace,
		"MEMO_LOG_LEVEL=info",
		"AWS_LAMBDA_FUNCTION_NAME=" + p.Names.Compute,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(s.ComputeTimeout.Seconds())),
	}, f.Env...)
	n := f.Processes
	if n < 1 {
		n = s.Pollers
	}
	pool, err := StartRIE(ctx, RIEConfig{RIE: f.RIE, Bootstrap: f.Bootstrap, Env: env, Processes: n, Timeout: s.ComputeTimeout, Log: f.Log})
	if err != nil {
		if stopProxy != nil {
			stopProxy()
		}
		return nil, err
	}
	pool.after = stopProxy
	return pool, nil
}

// startWrapProxy serves wrap(a reverse proxy to target) on a free port.
func startWrapProxy(target string, wrap func(http.Handler) http.Handler) (string, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: wrap(rp), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
