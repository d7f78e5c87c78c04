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
	Log       io.Writer // their output (nil discards it)
}

// RIEPool invokes function processes under aws-lambda-rie, one invocation
// per process at a time: callers wait for a free one.
type RIEPool struct {
	free  chan *RIE
	procs []*exec.Cmd
	done  []chan struct{}
	after func() // run by Stop (the fault proxy's end)
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
	p := &RIEPool{free: make(chan *RIE, c.Processes)}
	for range c.Processes {
		ports := [2]int{}
		for i := range ports {
			port, err := FreePort()
			if err != nil {
				p.Stop()
				return nil, err
			}
			ports[i] = port
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[0])
		cmd := exec.Command(c.RIE, "--runtime-interface-emulator-address", addr,
			"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]), c.Bootstrap)
		cmd.Env = c.Env
		cmd.Stdout, cmd.Stderr = c.Log, c.Log
		// The kernel ends it if memo dies without stopping it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			p.Stop()
			return nil, fmt.Errorf("starting %s: %w", c.RIE, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		p.procs, p.done = append(p.procs, cmd), append(p.done, done)
		if err := waitListening(ctx, addr, done, 30*time.Second); err != nil {
			p.Stop()
			return nil, err
		}
		p.free <- &RIE{URL: "http://" + addr, Client: &http.Client{}}
	}
	return p, nil
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

// Invoke implements Invoker. A caller that gives up gets its error at once;
// the process goes back to the pool once the emulator has answered (it
// ends an invocation that outlives AWS_LAMBDA_FUNCTION_TIMEOUT itself).
func (p *RIEPool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var r *RIE
	select {
	case r = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	type answer struct {
		out []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		out, err := r.Invoke(context.WithoutCancel(ctx), payload)
		done <- answer{out, err}
	}()
	select {
	case a := <-done:
		p.free <- r
		return a.out, a.err
	case <-ctx.Done():
		go func() { <-done; p.free <- r }()
		return nil, ctx.Err()
	}
}

// Stop ends the processes: aws-lambda-rie and the function it started in a
// session of its own.
func (p *RIEPool) Stop() {
	for i, cmd := range p.procs {
		kids := childrenOf(cmd.Process.Pid)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for _, k := range kids {
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
		select {
		case <-p.done[i]:
		case <-time.After(5 * time.Second):
		}
	}
	if p.after != nil {
		p.after()
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
	pool, err := StartRIE(ctx, RIEConfig{RIE: f.RIE, Bootstrap: f.Bootstrap, Env: env, Processes: n, Log: f.Log})
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
