package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// Environment of the compute process helper.
const (
	envHelper     = "MEMO_TEST_COMPUTE_PROCESS"
	envEndpoint   = "MEMO_TEST_ENDPOINT"
	envTable      = "MEMO_TEST_TABLE"
	envCrashMark  = "MEMO_TEST_CRASH_MARK"
	envCrashAfter = "MEMO_TEST_CRASH_AFTER"
	envOut        = "MEMO_TEST_OUT"
)

// TestComputeProcessHelper is not a test: it is the compute function's
// process for TestComputeProcessExit, started once per invocation with the
// SQS event on stdin. Given MEMO_TEST_CRASH_AFTER, it exits with status 3
// in the middle of a PutItem call, after that many calls and the next one
// went through without its answer, and notes what it stored in the crash
// mark.
func TestComputeProcessHelper(t *testing.T) {
	if os.Getenv(envHelper) == "" {
		t.Skip("the compute process of TestComputeProcessExit")
	}
	ctx := context.Background()
	payload, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.Exit(10)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: os.Getenv(envEndpoint), Region: awsconfig.DefaultRegion, StaticCredentials: true})
	if err != nil {
		os.Exit(11)
	}
	var w compute.ResultWriter = results.New(dynamodb.NewFromConfig(cfg), os.Getenv(envTable))
	if v := os.Getenv(envCrashAfter); v != "" {
		after, _ := strconv.Atoi(v)
		w = &exitingWriter{inner: w, after: after, mark: os.Getenv(envCrashMark)}
	}
	// One write at a time, so that "half way" is well defined.
	svc := compute.New(w, compute.Expressions(eval.Evaluate), compute.Config{Concurrency: 1})
	out, err := local.NewInProcess(svc.Handle).Invoke(ctx, payload)
	if err != nil {
		os.Exit(12)
	}
	if err := os.WriteFile(os.Getenv(envOut), out, 0o644); err != nil {
		os.Exit(13)
	}
	os.Exit(0)
}

// exitingWriter lets `after` calls through, writes the next one, notes how
// many results it stored in the crash mark and exits the process before
// that write's answer is used.
type exitingWriter struct {
	inner  compute.ResultWriter
	after  int
	calls  int
	stored int
	mark   string
}

func (w *exitingWriter) Put(ctx context.Context, r record.Result) error {
	if w.calls++; w.calls <= w.after {
		err := w.inner.Put(ctx, r)
		if err == nil {
			w.stored++
		}
		return err
	}
	if err := w.inner.Put(ctx, r); err == nil {
		w.stored++
	}
	_ = os.WriteFile(w.mark, []byte(strconv.Itoa(w.stored)), 0o644)
	os.Exit(3)
	return nil
}

// processInvoker runs each invocation in a new compute process, as a cold
// Lambda would: a process that exits without an answer is a function error.
// The process of the first invocation of at least 6 messages (60 ops in
// packs of 10) crashes (crashEnv): after 50 PutItem calls and during the
// 51st.
type processInvoker struct {
	env, crashEnv []string
	dir           string
	n             atomic.Int64
	exits         atomic.Int64
	crashed       atomic.Bool
}

func (p *processInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	i := p.n.Add(1)
	out := filepath.Join(p.dir, fmt.Sprintf("out-%d.json", i))
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestComputeProcessHelper$")
	cmd.Env = append(append(os.Environ(), p.env...), envHelper+"=1", envOut+"="+out)
	var ev struct{ Records []json.RawMessage }
	if json.Unmarshal(payload, &ev) == nil && len(ev.Records)*local.DefaultPackOps >= 60 && p.crashed.CompareAndSwap(false, true) {
		cmd.Env = append(cmd.Env, p.crashEnv...)
	}
	cmd.Stdin = bytes.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		p.exits.Add(1)
		return nil, &local.FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("%v %s", err, stderr.String())}
	}
	return os.ReadFile(out)
}

// TestComputeProcessExit: the compute process exits in the middle of a
// PutItem call, with part of its results stored. Lambda reports a
// function error, the event source mapping deletes nothing, the batch comes
// back after the visibility timeout and a new process computes all of it
// again: lost=0 and every value right.
func TestComputeProcessExit(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const n = 300
	dir := t.TempDir()
	mark := filepath.Join(dir, "crashed")
	var proc *processInvoker
	twin := localtest.StartTwin(t, local.Options{
		Settings: local.Settings{VisibilityTimeout: 2 * time.Second, ComputeTimeout: 10 * time.Second, Pollers: 2},
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, nil, err
			}
			split := local.NewInProcess(app.NewSplitter(cfg, app.SplitterEnv{QueueURL: p.QueueURL, Workspace: p.Workspace}, slog.New(slog.DiscardHandler), nil).Handle)
			proc = &processInvoker{dir: dir, env: []string{envEndpoint + "=" + p.Endpoint, envTable + "=" + p.Table},
				crashEnv: []string{envCrashMark + "=" + mark, envCrashAfter + "=50"}}
			return split, proc, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := twin.Client()
	start := time.Now()
	id := upload(t, ctx, c, writeBatch(t, "exit.jsonl", n))
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil {
		t.Fatalf("wait: %v (%s)", err, rec.Line())
	}
	b, err := os.ReadFile(mark)
	if err != nil {
		t.Fatal("the compute process never crashed")
	}
	stored, _ := strconv.Atoi(string(b))
	t.Logf("%s in %v; the first process exited after storing %d results; %d processes, %d exits; invocations=%d messages=%d batch errors=%d",
		rec.Line(), time.Since(start).Round(time.Millisecond), stored, proc.n.Load(), proc.exits.Load(),
		twin.Stats.Invocations.Load(), twin.Stats.Messages.Load(), twin.Stats.BatchErrors.Load())
	if stored == 0 || proc.exits.Load() != 1 || twin.Stats.BatchErrors.Load() != 1 {
		t.Fatalf("the crash did not happen half way: %d stored, %d exits", stored, proc.exits.Load())
	}
	if !rec.Settled() || rec.Lost != 0 || rec.OK != n {
		t.Fatalf("not reconciled: %s", rec.Line())
	}
	checkValues(t, ctx, c, id, n)
}

// TestSplitterTwiceOnTheTwin: S3 delivers the notification of one upload
// three times (at-least-once delivery), the last two together. The
// splitter enqueues the batch three times; compute writes the same results
// again; the batch reconciles with lost=0 and the same report.
func TestSplitterTwiceOnTheTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const n = 200
	twin := localtest.StartTwin(t, local.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := twin.Client()
	file := writeBatch(t, "twice.jsonl", n)
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, "batches/twice.jsonl", file)
	if err != nil {
		t.Fatal(err)
	}
	id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !rec.Settled() || rec.Lost != 0 {
		t.Fatalf("first delivery: %s (%v)", rec.Line(), err)
	}
	first := *rec.Report
	// The same notification again, twice, as moto writes it.
	note, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": twin.Region,
		"eventTime": time.Now().UTC().Format("2006-01-02T15:04:05.000"), "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"bucket": map[string]any{"name": c.Res.Bucket},
			"object": map[string]any{"key": url.QueryEscape(up.Key), "eTag": up.ETag, "size": 0},
		},
	}}})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { sendRaw(t, ctx, c, twin.NotifyURL, string(note)) })
	}
	wg.Wait()
	const msgs = n / local.DefaultPackOps // the ops of one delivery, packed
	eventually(t, time.Minute, "the ops of three deliveries computed", func() (bool, string) {
		idle, err := twin.Idle(ctx)
		m := twin.Stats.Messages.Load()
		return err == nil && idle && m >= 3*msgs, fmt.Sprintf("messages delivered %d", m)
	})
	rec, err = c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	t.Logf("%s; invocations=%d messages=%d", rec.Line(), twin.Stats.Invocations.Load(), twin.Stats.Messages.Load())
	if err != nil || !rec.Settled() || rec.Lost != 0 || rec.OK != n {
		t.Fatalf("after three deliveries: %s (%v)", rec.Line(), err)
	}
	if m := twin.Stats.Messages.Load(); m != 3*msgs {
		t.Fatalf("%d messages delivered, want 3x%d", m, msgs)
	}
	if rec.Report.Totals != first.Totals || !rec.Report.StartedAt.After(first.StartedAt) {
		t.Fatalf("report %+v after the deliveries, first %+v: want the same totals, rewritten", rec.Report, first)
	}
	checkValues(t, ctx, c, id, n)
}
