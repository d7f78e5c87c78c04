package local_test

// Batches split in chunks on the twin: the chunk queue, its event source
// mapping, ranged reads, and a chunk retried after it failed half way.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// crashingQueue fails the sends of one chunk of one batch, once, after a
// few calls: the chunk's invocation fails half way with some of its ops
// already queued, as a crash would leave it.
type crashingQueue struct {
	splitter.Queue
	batch   string // key of the batch whose chunk fails
	from    int    // first op index of that chunk
	calls   atomic.Int64
	crashed atomic.Bool
}

func (q *crashingQueue) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	if len(msgs) > 0 && naming.KeyOfBatch(msgs[0].Batch) == q.batch && msgs[0].Ops[0].Index >= q.from && msgs[0].Ops[0].Index < q.from+500 && !q.crashed.Load() {
		// The chunk's 500 ops go in 5 calls (packs of 10, 10 a call).
		if q.calls.Add(1) > 2 {
			q.crashed.Store(true)
			// Permanent: the chunk's invocation ends here, not in retries.
			return nil, retry.Permanent(errors.New("the invocation crashed"))
		}
	}
	return q.Queue.SendBatch(ctx, msgs)
}

// chunkBatch writes a batch of n ops named <prefix>_<i> = i*3+1 (ops in
// dups take the name of the op they map to) as .json or .jsonl.
func chunkBatch(t *testing.T, file, prefix string, n int, dups map[int]int) string {
	t.Helper()
	var b strings.Builder
	jsonl := strings.HasSuffix(file, ".jsonl")
	if !jsonl {
		b.WriteString("{\"ops\": [\n")
	}
	for i := range n {
		name := i
		if d, ok := dups[i]; ok {
			name = d
		}
		if i > 0 && !jsonl {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"name": "%s_%04d", "op": "%d * 3 + 1"}`, prefix, name, i)
		if jsonl {
			b.WriteString("\n")
		}
	}
	if !jsonl {
		b.WriteString("]}\n")
	}
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTwinChunks: with chunks of 500, a 3,000-op .json batch (with a
// duplicate whose first op is in another chunk) and a 3,000-op .jsonl batch
// whose chunk 2 fails half way each end with every value right and lost=0
// in 6 chunks; a file broken after 1,500 good ops enqueues nothing.
func TestTwinChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	crash := &crashingQueue{batch: "batches/crash.jsonl", from: 1000}
	twin := localtest.StartTwin(t, local.Options{
		Settings: local.Settings{ChunkOps: 500, ChunkVisibilityTimeout: 2 * time.Second},
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, nil, err
			}
			client := sqs.NewFromConfig(cfg)
			crash.Queue = opsqueue.NewSender(client, p.QueueURL)
			svc := splitter.New(objects.New(awsconfig.S3(cfg)), crash, splitter.Config{
				ChunkOps: 500, Chunks: opsqueue.NewChunkSender(client, p.ChunkQueueURL)})
			comp := app.NewCompute(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace}, slog.New(slog.DiscardHandler), nil)
			return local.NewInProcess(svc.Invoke), local.NewInProcess(comp.Handle), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := twin.Client()
	const n = 3000

	check := func(id, prefix string, rejected map[int]string) {
		t.Helper()
		start := time.Now()
		rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
		if err != nil {
			t.Fatalf("wait %s: %v (%s)", id, err, rec.Line())
		}
		t.Logf("%s in %v", rec.Line(), time.Since(start).Round(time.Millisecond))
		if !rec.Settled() || rec.Lost != 0 || rec.Total != n || rec.OK != n-len(rejected) || rec.Rejected != len(rejected) {
			t.Fatalf("%s: not reconciled: %s", id, rec.Line())
		}
		for _, rej := range rec.Report.Rejections {
			if rejected[rej.Index] != rej.Reason {
				t.Fatalf("%s: rejection %+v, want %q", id, rej, rejected[rej.Index])
			}
		}
		names := make([]string, 0, n)
		for i := range n {
			if _, ok := rejected[i]; !ok {
				names = append(names, fmt.Sprintf("%s_%04d", prefix, i))
			}
		}
		got, err := c.Table.Get(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			var i int
			fmt.Sscanf(strings.TrimPrefix(name, prefix+"_"), "%d", &i)
			if r, ok := got[name]; !ok || r.Value == nil || r.Value.Num != float64(i*3+1) || r.Batch != id {
				t.Fatalf("%s = %+v (stored %v), want %d", name, r, ok, i*3+1)
			}
		}
		b, err := c.Objects.Get(ctx, c.Res.Bucket, naming.PlanKey(id))
		if err != nil {
			t.Fatal(err)
		}
		p, err := record.DecodePlan(b)
		if err != nil || len(p.Chunks) != 6 {
			t.Fatalf("plan of %s: %d chunks, %v", id, len(p.Chunks), err)
		}
	}

	// .json, op 2600 repeats the name of op 10 (chunk 0): rejected as a
	// duplicate of op 10, in chunk 5.
	jsonID := upload(t, ctx, c, chunkBatch(t, "chunks.json", "j", n, map[int]int{2600: 10}))
	check(jsonID, "j", map[int]string{2600: "duplicate of op 10"})

	// .jsonl, chunk 2 (ops 1000..1499) fails after 20 send calls and is
	// delivered again after the chunk queue's visibility timeout.
	crashID := upload(t, ctx, c, chunkBatch(t, "crash.jsonl", "l", n, nil))
	check(crashID, "l", nil)
	if !crash.crashed.Load() {
		t.Fatal("the chunk never failed")
	}
	if f := twin.ChunkStats.ItemFailures.Load(); f < 1 {
		t.Fatalf("chunk item failures = %d, want the failed chunk reported", f)
	}

	// Broken after 1,500 good ops (3 chunks): rejected, none of its ops
	// queued.
	path := chunkBatch(t, "broken.json", "b", 1500, nil)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data[:len(data)-3], "x]}"...), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenID := upload(t, ctx, c, path)
	rec, err := c.Wait(ctx, brokenID, workspace.WaitOptions{Idle: twin.Idle})
	if rec.Report == nil || rec.Report.Status != record.ReportRejected || rec.Report.Offset == nil {
		t.Fatalf("broken file: %v %s", err, rec.Line())
	}
	got, err := c.Table.Get(ctx, []string{"b_0000", "b_0700", "b_1499"})
	if err != nil || len(got) != 0 {
		t.Fatalf("a broken file's ops were computed: %v %v", got, err)
	}
}

// TestInjectedFaultsSpareTheChunkPoller: a fault injected through
// Options.APIOptions that loses the answer of a ReceiveMessage (applied by
// SQS, the answer never arrives: faults.Timeout) would hide a chunk task for
// the chunk queue's visibility timeout, 6 x the splitter's 300 s, and the
// batch would not split for half an hour (TestUserFunctionOnTheTwin's 10%
// faults case stalled so, at ok=0 lost=310 with the chunk task in flight).
// The chunk queue's poller is Lambda's own and does not get the injected
// faults; the ops queue's poller still does (its messages come back after
// the ops queue's short visibility timeout).
func TestInjectedFaultsSpareTheChunkPoller(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	var lostChunk, sawOps atomic.Int64
	// Every receive of the chunk queue that got messages loses its answer;
	// so does one receive of the ops queue that got messages.
	loseAnswers := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.loseReceiveAnswers",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				p, ok := in.Parameters.(*sqs.ReceiveMessageInput)
				r, rok := out.Result.(*sqs.ReceiveMessageOutput)
				if !ok || !rok || err != nil || len(r.Messages) == 0 {
					return out, md, err
				}
				switch url := aws.ToString(p.QueueUrl); {
				case strings.HasSuffix(url, "-chunks"):
					lostChunk.Add(1)
				case strings.HasSuffix(url, "-ops") && sawOps.Add(1) == 1:
				default:
					return out, md, err
				}
				return middleware.InitializeOutput{}, md, errors.New("injected: the answer of ReceiveMessage was lost")
			}), middleware.After)
	}
	twin := localtest.StartTwin(t, local.Options{
		APIOptions: []func(*middleware.Stack) error{loseAnswers},
		Settings:   local.Settings{VisibilityTimeout: 2 * time.Second, ComputeTimeout: 2 * time.Second},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	file := filepath.Join(t.TempDir(), "spare.json")
	if err := os.WriteFile(file, []byte(`{"ops": [{"name": "sp_a", "op": "1+1"}, {"name": "sp_b", "op": "2*3"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := upload(t, ctx, c, file)
	// A minute is ample for two ops; the chunk task hidden by a lost
	// answer would come back only after 30.
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	rec, err := c.Wait(wctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || rec.Total != 2 || rec.OK != 2 || rec.Lost != 0 {
		t.Fatalf("want total=2 ok=2 lost=0: %s (%v); answers lost on the chunk queue: %d; ops queue receives with messages: %d", rec.Line(), err, lostChunk.Load(), sawOps.Load())
	}
	if lostChunk.Load() != 0 {
		t.Errorf("the chunk queue's poller got the injected option (%d answers lost)", lostChunk.Load())
	}
	if sawOps.Load() == 0 {
		t.Error("the ops queue's poller did not get the injected option")
	}
}
