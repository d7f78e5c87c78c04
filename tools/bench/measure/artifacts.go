package measure

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Init is what aws-lambda-rie printed for the first invocation of a fresh
// function process.
type Init struct {
	// Duration is the "INIT REPORT(durationMs: ...)" of the emulator's
	// log: from the start of the init phase until the runtime asked for
	// its first event (the process started, read its configuration, built
	// its clients and called lambda.Start).
	Duration time.Duration
	// ReportLine is the "Init Duration" of the emulator's REPORT line. The
	// emulator prints it, but it is not the init phase (a few hundredths
	// of a millisecond here); kept to show what it says.
	ReportLine time.Duration
	// FirstInvoke is the wall time of the first invocation as the caller
	// saw it (the emulator runs the init phase then).
	FirstInvoke time.Duration
}

var (
	initReportRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reportInitRE = regexp.MustCompile(`REPORT RequestId: \S+\s+Init Duration: ([0-9.]+) ms`)
)

// MeasureInit starts bootstrap under the emulator rie with env, invokes it
// once with payload and returns the init figures the emulator printed.
func MeasureInit(ctx context.Context, rie, bootstrap string, env []string, payload string) (Init, error) {
	ports, err := freePorts(2)
	if err != nil {
		return Init{}, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]), bootstrap)
	cmd.Env = append(os.Environ(), env...)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Init{}, fmt.Errorf("starting %s: %w", rie, err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	var first time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(payload))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return Init{}, fmt.Errorf("invoke %s: %s\n%s", bootstrap, resp.Status, log.String())
			}
			first = time.Since(start)
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return Init{}, fmt.Errorf("invoke %s: %w\n%s", bootstrap, err, log.String())
		}
		time.Sleep(20 * time.Millisecond) // the emulator is not listening yet
	}
	var in Init
	in.FirstInvoke = first
	for time.Now().Before(deadline) {
		out := log.String()
		m := initReportRE.FindStringSubmatch(out)
		r := reportInitRE.FindStringSubmatch(out)
		if m != nil && r != nil {
			in.Duration = ms(m[1])
			in.ReportLine = ms(r[1])
			return in, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in, fmt.Errorf("%s: no INIT REPORT and REPORT lines from the emulator:\n%s", bootstrap, log.String())
}

// MedianInit measures n fresh starts and returns the median of each figure.
func MedianInit(ctx context.Context, n int, rie, bootstrap string, env []string, payload string) (Init, error) {
	var ds, rs, fs []time.Duration
	for range n {
		in, err := MeasureInit(ctx, rie, bootstrap, env, payload)
		if err != nil {
			return Init{}, err
		}
		ds, rs, fs = append(ds, in.Duration), append(rs, in.ReportLine), append(fs, in.FirstInvoke)
	}
	return Init{Duration: median(ds), ReportLine: median(rs), FirstInvoke: median(fs)}, nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func ms(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
