package local

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// MotoInstallHint tells a user without moto how to get it.
const MotoInstallHint = `moto_server was not found on PATH. The local twin emulates S3, SQS and DynamoDB with moto: install it with
    pip install "moto[server]"
(or point memo at a running emulator with --endpoint URL)`

// ErrNoMoto is returned when moto_server is not installed.
var ErrNoMoto = errors.New(MotoInstallHint)

// Moto is a moto_server process on a loopback port.
type Moto struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers. Its output goes to log (which may be nil).
//
// moto is started through motopatch.py by python3 (see there why), unless
// MEMO_MOTO_UNPATCHED is set; a python3 that cannot import moto exits at
// once with motoPatchNoMoto, and moto_server is then started as it is.
// (Asking python3 first would cost a second interpreter's start-up.)
func StartMoto(ctx context.Context, log io.Writer) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
	}
	if py, err := exec.LookPath("python3"); err == nil && os.Getenv("MEMO_MOTO_UNPATCHED") == "" {
		m, err := startMoto(ctx, log, py, "-c", motoPatch)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != motoPatchNoMoto {
			return m, err
		}
	}
	return startMoto(ctx, log, bin)
}

// motoPatchNoMoto is motopatch.py's exit status when its python3 cannot
// import moto (its NO_MOTO).
const motoPatchNoMoto = 97

// startMoto runs name args... -H 127.0.0.1 -p PORT and waits until it
// answers; if it exits first, the error is its *exec.ExitError.
func startMoto(ctx context.Context, log io.Writer, name string, args ...string) (*Moto, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, append(args, "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that Stop also ends any child it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	var exit error
	go func() { exit = cmd.Wait(); close(m.done) }()
	if err := WaitReady(ctx, m.URL, 60*time.Second, m.done); err != nil {
		select {
		case <-m.done:
			if exit != nil {
				return nil, fmt.Errorf("moto_server exited before it was ready (see its log): %w", exit)
			}
		default:
		}
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Stop ends moto_server and waits for it. It kills it: moto keeps its
// state in memory only, and on SIGTERM its interpreter's orderly exit
// (moto.server calls sys.exit) takes about a second and a half for
// nothing.
func (m *Moto) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
}

// WaitReady polls an emulator until it answers HTTP, or fails after timeout
// (or at once when exited is closed: the process died).
func WaitReady(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("moto_server exited before it was ready (see its log)")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moto_server at %s did not answer within %v", url, timeout)
		}
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

//go:embed motopatch.py
var motoPatch string
