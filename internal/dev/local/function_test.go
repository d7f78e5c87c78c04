package local_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/faults"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// functionOps is the size of the checksum run: MEMO_FUNCTION_OPS, or a
// modest default (moto is slow on a shared machine).
func functionOps(t *testing.T) int {
	if v := os.Getenv("MEMO_FUNCTION_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MEMO_FUNCTION_OPS=%q", v)
		}
		return n
	}
	return 300
}

// TestUserFunctionOnTheTwin runs examples/functions/checksum, built and run
// under aws-lambda-rie as memo local --function does, over objects in the
// twin's bucket: every value right, missing objects as error results,
// lost=0; with faults in the pipeline and in the function's own calls, and
// AWS's weak promises in the twin's plumbing, too.
func TestUserFunctionOnTheTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	root := localtest.RepoRoot(t)
	rie := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(rie); err != nil {
		t.Skipf("no aws-lambda-rie (make bin/aws-lambda-rie): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bootstrap, err := local.BuildFunction(ctx, filepath.Join(root, "examples", "functions", "checksum"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []float64{0, 0.1} {
		t.Run(fmt.Sprintf("faults=%v", rate), func(t *testing.T) {
			runChecksum(t, ctx, rie, bootstrap, rate, functionOps(t))
		})
	}
}

func runChecksum(t *testing.T, ctx context.Context, rie, bootstrap string, rate float64, n int) {
	const missing = 10
	logPath := filepath.Join(t.TempDir(), "twin.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(string(b), "\n")
			t.Logf("end of the twin's log:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	var pool *local.RIEPool
	cf := local.ComputeFunction{RIE: rie, Bootstrap: bootstrap, Log: logf}
	// A short visibility timeout: a message left for SQS comes back in
	// seconds, not 6 x 30 s.
	// The ops are JSON values (memo local --function's op rules).
	opts := local.Options{Log: logf, Settings: local.Settings{Pollers: 2, ComputeTimeout: 5 * time.Second, VisibilityTimeout: 5 * time.Second, OpRules: batch.JSONRules}}
	var inj *faults.Injector
	if rate > 0 {
		inj = faults.New(faults.Config{Rate: rate, Seed: 7})
		opts.APIOptions = append(opts.APIOptions, inj.APIOption)
		cf.Wrap = inj.Handler
		w := weak.Default()
		opts.Weak = &w
	}
	var mu sync.Mutex
	opts.Compute = func(p local.Provisioned, s local.Settings) (local.Invoker, error) {
		// The objects are in the twin's own bucket, under objects/.
		cf.Env = []string{"OBJECTS_BUCKET=" + p.Bucket}
		mu.Lock()
		defer mu.Unlock()
		pool, err = cf.Start(ctx, p, s)
		return pool, err
	}
	twin := localtest.StartTwin(t, opts)
	t.Cleanup(func() {
		if pool != nil {
			pool.Stop()
		}
	})
	// Objects and the batch go in without faults: the run is under test.
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: twin.Endpoint(), Region: twin.Region, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	s3c := awsconfig.S3(cfg)
	want := map[string]string{}
	var lines strings.Builder
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		key := fmt.Sprintf("objects/%04d.bin", i)
		body := []byte(strings.Repeat(strconv.Itoa(i), 1+i%50))
		sum := sha256.Sum256(body)
		name := fmt.Sprintf("obj_%04d", i)
		want[name] = fmt.Sprintf(`{"bytes":%d,"sha256":"%s"}`, len(body), hex.EncodeToString(sum[:]))
		fmt.Fprintf(&lines, `{"name": %q, "op": %s}`+"\n", name, checksumOp(i, key))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(twin.Bucket), Key: aws.String(key), Body: strings.NewReader(string(body))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range missing {
		name := fmt.Sprintf("gone_%02d", i)
		key := fmt.Sprintf("objects/missing-%02d.bin", i)
		want[name] = fmt.Sprintf("error s3://%s/%s does not exist", twin.Bucket, key)
		fmt.Fprintf(&lines, `{"name": %q, "op": %s}`+"\n", name, checksumOp(i, key))
	}
	file := filepath.Join(t.TempDir(), "checksums.jsonl")
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.Weak != nil {
		// The wait sees the weak promises too (after the uploads).
		cfg.APIOptions = append(cfg.APIOptions, weak.New(*opts.Weak).APIOption)
	}
	c := workspace.New(cfg, twin.Resources)
	start := time.Now()
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, naming.BatchPrefix+"checksums.jsonl", file)
	if err != nil {
		t.Fatal(err)
	}
	id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	rec, err := c.Wait(wctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil {
		t.Fatalf("wait: %v (%s)", err, rec.Line())
	}
	t.Logf("%s in %v; invocations=%d item failures=%d; faults %v", rec.Line(), time.Since(start).Round(time.Millisecond),
		twin.Stats.Invocations.Load(), twin.Stats.ItemFailures.Load(), func() any {
			if inj == nil {
				return "none"
			}
			return inj.Stats().ByKind()
		}())
	if rec.Lost != 0 || rec.OK != n || rec.Error != missing || rec.Total != n+missing {
		t.Fatalf("not reconciled: %s, want ok=%d error=%d lost=0", rec.Line(), n, missing)
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	got, err := c.Table.Get(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		r := got[name]
		g := "error " + r.Error
		if r.Status == record.StatusOK {
			g = r.Value.String()
		}
		if g != w {
			t.Errorf("%s = %s, want %s", name, g, w)
		}
	}
	if rate > 0 && inj.Stats().Total() == 0 {
		t.Error("no fault was injected")
	}
	if pool.Replaced.Load() > 0 {
		t.Logf("aws-lambda-rie processes replaced after a timed-out or unanswered invocation: %d", pool.Replaced.Load())
	}
}

// checksumOp is the op naming key: the object {"key": key} for most ops,
// the key as a JSON string for every third (the function reads both).
func checksumOp(i int, key string) string {
	if i%3 == 2 {
		return strconv.Quote(key)
	}
	return fmt.Sprintf(`{"key": %s}`, strconv.Quote(key))
}

// TestAlwaysTransientFunctionLandsInTheDLQ: a function whose every call
// fails transiently leaves its messages for SQS, which moves them to the DLQ
// after maxReceiveCount receives; memo status counts them as dlq, not lost.
func TestAlwaysTransientFunctionLandsInTheDLQ(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	var calls atomic.Int64
	failing := func(context.Context, compute.Op) (record.Value, error) {
		calls.Add(1)
		return record.Value{}, errors.New("the service is down")
	}
	twin := localtest.StartTwin(t, local.Options{
		Settings: local.Settings{VisibilityTimeout: 2 * time.Second, ComputeTimeout: 2 * time.Second, MaxReceiveCount: 2, BatchingWindow: 200 * time.Millisecond},
		Compute: func(p local.Provisioned, _ local.Settings) (local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, err
			}
			return local.NewInProcess(app.NewComputeFunc(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace},
				slog.New(slog.DiscardHandler), nil, failing, compute.Config{}).Handle), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	file := filepath.Join(t.TempDir(), "down.json")
	if err := os.WriteFile(file, []byte(`{"ops": [{"name": "t_a", "op": "a"}, {"name": "t_b", "op": "b"}, {"name": "t_c", "op": "c"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := upload(t, ctx, c, file)
	// The 3 ops travel in one packed message.
	eventually(t, time.Minute, "1 message in the DLQ", func() (bool, string) {
		dv, dnv := depth(t, ctx, c, c.Res.DLQURL)
		return dv == 1 && dnv == 0, fmt.Sprintf("dlq visible=%d in flight=%d", dv, dnv)
	})
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !rec.Settled() || rec.Total != 3 || rec.DLQ != 3 || rec.Lost != 0 || rec.OK+rec.Error != 0 {
		t.Fatalf("want total=3 dlq=3 lost=0: %s (%v)", rec.Line(), err)
	}
	if n := calls.Load(); n < 6 {
		t.Errorf("the function ran %d times, want at least maxReceiveCount=2 per op", n)
	}
}
