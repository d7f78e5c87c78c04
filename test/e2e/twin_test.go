package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gruntwork-io/terratest/modules/logger"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/ops/status"
)

// twinSettings shape the twin for the test: a short visibility timeout and
// a small maxReceiveCount, so that a message that always fails reaches the
// DLQ within seconds. The visibility timeout stays above the compute
// timeout (the rule the Terraform module derives as 6x), with room for the
// event source mapping's batching window and moto's slow receives.
// maxReceiveCount is 3, not 2: with the weak promises a message that
// succeeds can still come back (a lost delete, a throttled batch), and the
// validation wants no good op in the DLQ.
var twinSettings = local.Settings{
	Workspace:         "e2e",
	ComputeTimeout:    8 * time.Second,
	VisibilityTimeout: 12 * time.Second,
	MaxReceiveCount:   3,
	Pollers:           computeProcesses,
}

// twinWeak is the weak promises the end-to-end run keeps (every knob of
// weak.Default), with lost deletes and throttles rarer than its default so
// that, over the run's ~1,300 ops, none that succeeded comes back
// maxReceiveCount times and waits in the DLQ (about 1 run in 500 would).
func twinWeak() *weak.Config {
	w := weak.Default()
	w.LostDeletes, w.Throttles = 0.002, 0.01
	return &w
}

// computeProcesses is the number of aws-lambda-rie processes running the
// compute function. aws-lambda-rie runs one invocation at a time and
// crashes (nil dereference, "ReserveFailed: AlreadyReserved") on a second
// concurrent one, so each process serves one poller of the twin's event
// source mapping.
const computeProcesses = 4

// TwinState is what a later run needs to reuse or end the twin's moto
// (SKIP_<stage>): moto holds the pipeline's state; the functions, the
// twin's plumbing and its serialising proxy in front of moto live and die
// with the test process that runs them.
type TwinState struct {
	Dir  string `json:"dir"` // the function binaries and the logs
	Moto *Proc  `json:"moto"`
}

// twinTarget runs the pipeline on moto, with the Lambda binaries built by
// the Makefile (linux/amd64) under aws-lambda-rie and the twin's plumbing
// (S3 notification delivery, SQS event source mapping) in this process.
type twinTarget struct {
	state TwinState
	moto  *local.Moto // started by this run
	funcs []*Proc     // aws-lambda-rie processes of this run
	twin  *local.Twin
	log   *os.File
}

func (tw *twinTarget) preflight(t *testing.T) {
	localtest.RequireMoto(t) // skip without moto_server, unless CI is set
	// The twin's timing is AWS's scaled down, as memo --endpoint sets it:
	// a batch the counters leave short settles (and is reconciled by
	// names) once its queue reads empty TwinCountLag after its split.
	status.CountLag, status.FailedSettleAfter = status.TwinCountLag, status.TwinFailedSettleAfter
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("the twin target builds the functions with make: %v", err)
	}
}

func (tw *twinTarget) deploy(t *testing.T) Deployment {
	root := localtest.RepoRoot(t)
	runMake(t, root, "build-twin", "bin/aws-lambda-rie")
	dir, err := os.MkdirTemp("", "memo-e2e-twin-")
	if err != nil {
		t.Fatal(err)
	}
	tw.state.Dir = dir
	// Run copies of the binaries, so that a rebuild during the run (make
	// build-twin by someone else) cannot change what is under test.
	for _, fn := range []string{"splitter", "compute"} {
		src := filepath.Join(root, "build", "amd64", fn, "bootstrap")
		if err := copyFile(src, filepath.Join(dir, fn, "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyFile(filepath.Join(root, "bin", "aws-lambda-rie"), filepath.Join(dir, "aws-lambda-rie")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	motoLog, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer motoLog.Close() // moto holds its own descriptor
	m, err := local.StartMoto(ctx, motoLog)
	if err != nil {
		t.Fatalf("starting moto: %v", err)
	}
	tw.moto = m
	// Its process id, so that a later run can end it (SKIP_teardown).
	addr := strings.TrimPrefix(m.URL, "http://")
	_, port, _ := strings.Cut(addr, ":")
	tw.state.Moto = &Proc{Name: "moto_server", Match: []string{"moto", "\x00" + port}, Addr: addr, Log: motoLog.Name()}
	for _, pid := range children(os.Getpid()) {
		if running(pid, tw.state.Moto.Match...) {
			tw.state.Moto.PID = pid
		}
	}
	if tw.state.Moto.PID == 0 && os.Getenv("SKIP_teardown") != "" {
		t.Fatalf("SKIP_teardown is set but moto's process (a child of this test listening on %s) was not found: a later run could not end it", addr)
	}
	tw.attach(t, ctx)
	d := tw.deployment()
	logger.Default.Logf(t, "twin up: moto %s (pid %d), splitter and %d compute functions under aws-lambda-rie; as memo local prints it:\n%s",
		m.URL, tw.state.Moto.PID, computeProcesses, tw.twin.Summary())
	return d
}

// attach starts the function processes and the twin's plumbing on the
// moto of tw.state.
func (tw *twinTarget) attach(t *testing.T, ctx context.Context) {
	t.Helper()
	lg, err := os.OpenFile(filepath.Join(tw.state.Dir, "twin.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tw.log = lg
	// The twin's timing is AWS's scaled down, as memo local sets it.
	status.CountLag, status.FailedSettleAfter = status.TwinCountLag, status.TwinFailedSettleAfter
	twin, err := local.Start(ctx, local.Options{
		Endpoint: tw.state.Moto.URL(),
		Settings: twinSettings,
		Weak:     twinWeak(),
		Log:      lg,
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			split, comp, err := tw.startFunctions(ctx, p)
			if err != nil {
				return nil, nil, err
			}
			return split, comp, nil
		},
	})
	if err != nil {
		t.Fatalf("starting the twin on moto %s: %v", tw.state.Moto.URL(), err)
	}
	tw.twin = twin
	// The functions and the plumbing end with this run even when the
	// teardown is skipped (only moto is kept).
	t.Cleanup(func() { _ = tw.stopRun() })
}

// stopRun ends what lives only as long as this run: the twin's plumbing
// and the function processes. It can be called again.
func (tw *twinTarget) stopRun() error {
	if tw.twin != nil {
		tw.twin.Stop()
	}
	var errs []error
	for _, p := range tw.funcs {
		errs = append(errs, p.stop(5*time.Second))
	}
	return errors.Join(errs...)
}

// startFunctions runs each function's bootstrap under its own
// aws-lambda-rie, with the environment Terraform gives the Lambda (the
// names come from the provisioning the twin just did) plus what the SDK
// needs to reach the twin's endpoint.
func (tw *twinTarget) startFunctions(ctx context.Context, p local.Provisioned) (split, comp *pool, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("starting the functions under aws-lambda-rie: %w", err)
		}
	}()
	common := []string{
		"AWS_ENDPOINT_URL=" + p.Endpoint,
		"AWS_REGION=" + p.Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"PATH=/usr/bin:/bin",
		app.EnvWorkspace + "=" + p.Workspace,
		app.EnvLogLevel + "=info",
	}
	dir := tw.state.Dir
	start := func(name, fn, function string, timeout time.Duration, env ...string) (*Proc, error) {
		var ports [2]int
		for i := range ports {
			port, err := local.FreePort()
			if err != nil {
				return nil, err
			}
			ports[i] = port
		}
		addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
		env = append(append(env, common...),
			"AWS_LAMBDA_FUNCTION_NAME="+function,
			"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(timeout.Seconds())))
		pr, err := startProc(name, []string{
			filepath.Join(dir, "aws-lambda-rie"),
			"--runtime-interface-emulator-address", addr,
			"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
			filepath.Join(dir, fn, "bootstrap"),
		}, env, filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		tw.funcs = append(tw.funcs, pr)
		pr.Addr = addr
		return pr, waitListening(ctx, pr, 30*time.Second)
	}
	s, err := start("splitter-rie", "splitter", p.Names.Splitter, local.DefaultSplitterTimeout, app.EnvQueueURL+"="+p.QueueURL, app.EnvBatchesTable+"="+p.BatchesTable)
	if err != nil {
		return nil, nil, err
	}
	var cs []*Proc
	for i := range computeProcesses {
		c, err := start(fmt.Sprintf("compute-rie-%d", i), "compute", p.Names.Compute, twinSettings.ComputeTimeout, app.EnvTable+"="+p.Table, app.EnvBatchesTable+"="+p.BatchesTable)
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return newPool(s), newPool(cs...), nil
}

func (tw *twinTarget) deployment() Deployment {
	p := tw.twin.Provisioned
	st := tw.state
	return Deployment{
		Target:            "twin",
		Resources:         p.Resources,
		Account:           p.Account,
		SplitterFunction:  p.Names.Splitter,
		ComputeFunction:   p.Names.Compute,
		VisibilityTimeout: tw.twin.Settings.VisibilityTimeout,
		MaxReceiveCount:   tw.twin.Settings.MaxReceiveCount,
		Patience:          4 * time.Minute,
		Twin:              &st,
	}
}

func (tw *twinTarget) connect(t *testing.T, d Deployment) (Deployment, aws.Config) {
	if tw.twin == nil {
		// An earlier run deployed the twin and kept its moto
		// (SKIP_teardown): provision it again (it is idempotent) and run
		// the functions and the plumbing in this process.
		if d.Twin == nil || d.Twin.Moto == nil || !d.Twin.Moto.alive() {
			t.Fatalf("the moto of the saved twin deployment is not running: tear it down (SKIP_deploy=1 SKIP_validate=1) and deploy again")
		}
		tw.state = *d.Twin
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tw.attach(t, ctx)
	}
	return tw.deployment(), tw.twin.Config
}

func (tw *twinTarget) teardown(t *testing.T, d *Deployment) error {
	errs := []error{tw.stopRun()}
	if tw.log != nil {
		tw.log.Close()
	}
	if t.Failed() {
		logTails(t, tw.state.Dir, tw.funcs)
	}
	if tw.moto != nil {
		tw.moto.Stop()
	}
	states := []*TwinState{&tw.state}
	if d != nil && d.Twin != nil && d.Twin.Dir != tw.state.Dir {
		states = append(states, d.Twin)
	}
	for _, st := range states {
		if st.Moto != nil && st.Moto.PID != 0 {
			errs = append(errs, st.Moto.stop(5*time.Second))
		}
		if st.Dir != "" {
			errs = append(errs, os.RemoveAll(st.Dir))
		}
	}
	return errors.Join(errs...)
}

// logTails shows the end of every log of a failed run before the logs go.
func logTails(t *testing.T, dir string, funcs []*Proc) {
	if dir == "" {
		return
	}
	logs := []string{filepath.Join(dir, "twin.log"), filepath.Join(dir, "moto.log")}
	for _, p := range funcs {
		logs = append(logs, p.Log)
	}
	for _, l := range logs {
		if l != "" {
			t.Logf("--- end of %s:\n%s", filepath.Base(l), tail(l, 25))
		}
	}
}

// pool invokes functions running under aws-lambda-rie, at most one
// invocation per process at a time (the emulator crashes on a concurrent
// one); callers wait for a free process.
type pool struct {
	free chan *local.RIE
}

var _ local.Invoker = (*pool)(nil)

func newPool(procs ...*Proc) *pool {
	p := &pool{free: make(chan *local.RIE, len(procs))}
	for _, pr := range procs {
		p.free <- &local.RIE{URL: pr.URL(), Client: &http.Client{}}
	}
	return p
}

type invocation struct {
	out []byte
	err error
}

// Invoke implements local.Invoker. A caller that gives up (its context
// ends) gets its error at once, but the process goes back to the pool only
// once the emulator has answered: it ends an invocation that outlives
// AWS_LAMBDA_FUNCTION_TIMEOUT itself.
func (p *pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var r *local.RIE
	select {
	case r = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	done := make(chan invocation, 1)
	go func() {
		out, err := r.Invoke(context.WithoutCancel(ctx), payload)
		done <- invocation{out, err}
	}()
	select {
	case res := <-done:
		p.free <- r
		return res.out, res.err
	case <-ctx.Done():
		go func() { <-done; p.free <- r }()
		return nil, ctx.Err()
	}
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
