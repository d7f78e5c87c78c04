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
func StartMoto(ctx context.Context, log io.Writer) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)}
	cmd := exec.Command(bin, args...)
	if py := pythonWithMoto(); py != "" {
		// The same moto, started through motopatch.py (see there why).
		cmd = exec.Command(py, append([]string{"-c", motoPatch}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that Stop also ends any child it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := WaitReady(ctx, m.URL, 60*time.Second, m.done); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Stop ends moto_server and waits for it.
func (m *Moto) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	pgid := -m.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-m.done
	}
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

// pythonWithMoto returns a python3 that can import moto's server, or "".
func pythonWithMoto() string {
	if os.Getenv("MEMO_MOTO_UNPATCHED") != "" {
		return ""
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return ""
	}
	if exec.Command(py, "-c", "import moto.server, moto.sqs.models").Run() != nil {
		return ""
	}
	return py
}
