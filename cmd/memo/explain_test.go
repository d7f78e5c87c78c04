package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// TestExplainOnTheTwin: memo explain answers for an op that is ok, one that
// is an error, one whose batch was superseded by a newer upload, and one
// whose message waits in the DLQ, with its log lines.
func TestExplainOnTheTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	logPath := filepath.Join(t.TempDir(), "twin.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// memo's evaluator, but the op "down" fails transiently every time.
	evaluate := compute.Expressions(eval.Evaluate)
	f := func(ctx context.Context, op compute.Op) (record.Value, error) {
		if string(op.Payload) == `"down"` {
			return record.Value{}, errors.New("the service is down")
		}
		return evaluate(ctx, op)
	}
	twin := localtest.StartTwin(t, local.Options{
		Log:      logf,
		Settings: local.Settings{VisibilityTimeout: 2 * time.Second, ComputeTimeout: 2 * time.Second, MaxReceiveCount: 2, BatchingWindow: 200 * time.Millisecond},
		Compute: func(p local.Provisioned, _ local.Settings) (local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, err
			}
			return local.NewInProcess(app.NewComputeFunc(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace},
				app.Logger(logf, slog.LevelInfo, "compute"), nil, f, compute.Config{Ops: 1}).Handle), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	submit := func(file, body string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), file)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, naming.BatchPrefix+file, path)
		if err != nil {
			t.Fatal(err)
		}
		id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
		if rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle}); err != nil || !rec.Settled() || rec.Lost != 0 {
			t.Fatalf("batch %s: %s (%v)", id, rec.Line(), err)
		}
		return id
	}
	a := submit("a.json", `{"ops": [{"name": "x_ok", "op": "1+1"}, {"name": "x_err", "op": "1/0"}, {"name": "x_sup", "op": "2+2"}, {"name": "x_dlq", "op": "down"}]}`)
	b := submit("b.json", `{"ops": [{"name": "x_sup", "op": "3+3"}]}`)
	explainCLI := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		if code := run(ctx, env, append([]string{"explain", "--endpoint", twin.Endpoint()}, args...)); code != exitOK {
			t.Fatalf("memo explain %v: exit %d: %s%s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		// x_ok shares its message (a pack) with x_dlq: the copy in the
		// DLQ is of a stored op.
		{[]string{"x_ok"}, []string{"result: ok 2\n  batch " + a, "dlq: batch " + a, "its result is stored; the message carries other ops"}},
		{[]string{"x_err"}, []string{"result: error: ", "division by zero", "batch " + a}},
		{[]string{"--batch", a, "x_sup"}, []string{"result: ok 6\n  batch " + b, "batch " + a + ": superseded by " + b}},
		{[]string{"--batch", b, "x_sup"}, []string{"batch " + b + ": stored"}},
		{[]string{"--log", logPath, "x_dlq"}, []string{"result: none stored", "dlq: batch " + a + ", received ", "waits for a redrive", `"error":"the service is down"`, `"batch":"` + a + `"`}},
	} {
		out := explainCLI(c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("memo explain %v:\n%s\nwant it to contain %q", c.args, out, w)
			}
		}
	}
}
