package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a process the twin target started: moto_server or one
// aws-lambda-rie. Moto's is saved with the deployment, so that a later run
// (SKIP_deploy) can reach it and its teardown can end it.
type Proc struct {
	Name string `json:"name"`
	PID  int    `json:"pid"` // also its process group id (Setpgid)
	// Match holds strings of its command line, checked in /proc before a
	// later run signals PID (the id may have been reused since).
	Match []string `json:"match"`
	Addr  string   `json:"addr"` // host:port it serves
	Log   string   `json:"log"`

	done chan struct{} // closed when a process this run started has exited
}

// URL is the process's HTTP address.
func (p *Proc) URL() string { return "http://" + p.Addr }

// startProc starts argv in its own process group with exactly env, output
// to logPath. The kernel kills it if this test process dies without a
// teardown (a go test timeout panics past deferred calls).
func startProc(name string, argv, env []string, logPath string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, PID: cmd.Process.Pid, Match: []string{filepath.Base(argv[0])}, Log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitListening waits until p accepts TCP connections on its address.
func waitListening(ctx context.Context, p *Proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if !p.alive() {
			return fmt.Errorf("%s exited before it listened on %s; its log %s ends:\n%s", p.Name, p.Addr, p.Log, tail(p.Log, 20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %v", p.Name, p.Addr, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive reports whether the process still runs (a zombie does not).
func (p *Proc) alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return running(p.PID, p.Match...)
}

// running reports whether pid is a live process whose command line holds
// every string of match. A zombie, or another program that reuses the id,
// is not.
func running(pid int, match ...string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so read after the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, m := range match {
		if !bytes.Contains(cmdline, []byte(m)) {
			return false
		}
	}
	return len(match) > 0
}

// children returns the ids of the live processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", id))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		// After "pid (comm) ": state ppid ...
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 2 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, id)
		}
	}
	return out
}

// stop ends the process group of p (SIGTERM, then SIGKILL after grace) and
// every child it had, which aws-lambda-rie puts in a session of its own (the
// function's bootstrap). It returns an error if anything is still running.
func (p *Proc) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	kids := children(p.PID)
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	if !waitGone(p, grace) {
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		waitGone(p, 5*time.Second)
	}
	var errs []error
	if p.alive() {
		errs = append(errs, fmt.Errorf("%s (pid %d) is still running", p.Name, p.PID))
	}
	for _, k := range kids {
		exe := ""
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k)); err == nil {
			argv0, _, _ := bytes.Cut(b, []byte{0})
			exe = filepath.Base(string(argv0))
		}
		if exe == "" {
			continue // gone
		}
		deadline := time.Now().Add(grace)
		for running(k, exe) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if running(k, exe) {
			_ = syscall.Kill(k, syscall.SIGKILL)
			time.Sleep(100 * time.Millisecond)
		}
		if running(k, exe) {
			errs = append(errs, fmt.Errorf("%s, child %d of %s, is still running", exe, k, p.Name))
		}
	}
	return errors.Join(errs...)
}

func waitGone(p *Proc, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
