package local_test

// Durable intake on the twin: a batch whose split fails through all of
// Lambda's asynchronous retries is recorded in the split-failures queue
// (its report says failed), and a batch whose chunk keeps failing waits in
// the chunk DLQ (its report says splitting); memo dlq list shows both, and
// memo resume brings both to lost=0 without re-uploading.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

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

// brokenReads fails every read of a batch while broken is set, as an S3
// outage would.
type brokenReads struct {
	*objects.Store
	broken atomic.Bool
}

func (b *brokenReads) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	if b.broken.Load() {
		return nil, errors.New("InternalError: S3 is having a bad day")
	}
	return b.Store.Open(ctx, ref)
}

// brokenChunk fails the sends of ops from..from+9 of the batch at key
// while broken is set.
type brokenChunk struct {
	splitter.Queue
	key    string
	from   int
	broken atomic.Bool
}

func (q *brokenChunk) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	if q.broken.Load() && len(msgs) > 0 && naming.KeyOfBatch(msgs[0].Batch) == q.key && msgs[0].Ops[0].Index >= q.from && msgs[0].Ops[0].Index < q.from+10 {
		return nil, retry.Permanent(errors.New("this chunk cannot be sent"))
	}
	return q.Queue.SendBatch(ctx, msgs)
}

func TestTwinFailedSplitIsRecordedAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	objs := &brokenReads{}
	objs.broken.Store(true)
	chunk := &brokenChunk{key: "batches/chunky.jsonl", from: 10}
	chunk.broken.Store(true)
	twin := localtest.StartTwin(t, local.Options{
		// Chunks of 10 ops; a chunk task goes to the chunk DLQ after its
		// second failed receive, a second after the first.
		Settings: local.Settings{ChunkOps: 10, MaxReceiveCount: 2, ChunkVisibilityTimeout: time.Second},
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, nil, err
			}
			client := sqs.NewFromConfig(cfg)
			objs.Store = objects.New(awsconfig.S3(cfg))
			chunk.Queue = opsqueue.NewSender(client, p.QueueURL)
			svc := splitter.New(objs, chunk, splitter.Config{ChunkOps: 10,
				Chunks: opsqueue.NewChunkSender(client, p.ChunkQueueURL)})
			comp := app.NewCompute(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace}, slog.New(slog.DiscardHandler), nil)
			return local.NewInProcess(svc.Invoke), local.NewInProcess(comp.Handle), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	id := upload(t, ctx, c, writeBatch(t, "failing.jsonl", 20))

	// The three invocations fail; the event is recorded, not dropped, and
	// memo dlq list --queue split-failures decodes the record.
	record1 := splitFailure(t, ctx, c, "")
	if f := record1.SplitFailure; f.Batch() != id || f.Condition != "RetriesExhausted" || f.InvokeCount != 3 ||
		!strings.Contains(f.ErrorMessage, "S3 is having a bad day") || f.Timestamp.IsZero() {
		t.Fatalf("record %+v, want batch %s", f, id)
	}
	// memo status sees the batch as failed, with something to resume.
	rep, found, err := c.Report(ctx, id)
	if err != nil || !found || rep.Status != record.ReportFailed {
		t.Fatalf("report %+v found=%v %v", rep, found, err)
	}
	if records, chunks, err := c.Resumable(ctx, id); err != nil || records != 1 || chunks != 0 {
		t.Fatalf("resumable: %d records, %d chunk tasks, %v", records, chunks, err)
	}

	// Resumed while S3 still fails: the twin's Invoke API takes the event
	// (202) and the one emulation of asynchronous invocation retries it
	// and records it again.
	res, err := c.Resume(ctx, id)
	if err != nil || len(res.Invoked) != 1 || res.Invoked[0][0] != id || res.RecordsLeft != 0 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if record2 := splitFailure(t, ctx, c, record1.ID); record2.SplitFailure.Batch() != id || record2.SplitFailure.InvokeCount != 3 {
		t.Fatalf("second record %+v", record2.SplitFailure)
	}

	// S3 is back: memo resume brings the batch to lost=0, its report
	// rewritten from failed to split.
	objs.broken.Store(false)
	if res, err := c.Resume(ctx, id); err != nil || len(res.Invoked) != 1 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	r, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !r.Settled() || r.Lost != 0 || r.OK != 20 || r.Report.Status != record.ReportSplit {
		t.Fatalf("after resume: %v %s", err, r.Line())
	}
	checkValues(t, ctx, c, id, 20)
	if _, err := c.Resume(ctx, id); !errors.Is(err, workspace.ErrNothingToResume) {
		t.Fatalf("a second resume: %v, want nothing to resume", err)
	}

	// Chunk 1 (ops 10..19) of a 30-op batch keeps failing: its task waits
	// in the chunk DLQ, the batch stays splitting.
	id2 := upload(t, ctx, c, writeBatch(t, "chunky.jsonl", 30))
	var task *workspace.ChunkTask
	eventually(t, 60*time.Second, "a chunk task in the chunk DLQ", func() (bool, string) {
		msgs, err := c.Peek(ctx, workspace.QueueChunks)
		if err != nil || len(msgs) == 0 {
			return false, "none yet"
		}
		task = msgs[0].Chunk
		return true, ""
	})
	if task == nil || task.Batch != id2 || task.Chunk != 1 || task.Ops != 10 || task.Length <= 0 || task.PlanError != "" {
		t.Fatalf("chunk task %+v, want chunk 1 of %s with 10 ops", task, id2)
	}
	if rep, _, _ := c.Report(ctx, id2); rep.Status != record.ReportSplitting {
		t.Fatalf("report %+v, want splitting", rep)
	}
	if records, chunks, err := c.Resumable(ctx, id2); err != nil || records != 0 || chunks != 1 {
		t.Fatalf("resumable: %d records, %d chunk tasks, %v", records, chunks, err)
	}
	chunk.broken.Store(false)
	res, err = c.Resume(ctx, id2)
	if err != nil || res.Chunks.Moved != 1 || len(res.Invoked) != 0 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	r, err = c.Wait(ctx, id2, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !r.Settled() || r.Lost != 0 || r.OK != 30 || r.Report.Status != record.ReportSplit {
		t.Fatalf("after resume: %v %s", err, r.Line())
	}
	checkValues(t, ctx, c, id2, 30)
}

// splitFailure waits for a record in the split-failures queue other than
// the message not, and returns it decoded.
func splitFailure(t *testing.T, ctx context.Context, c *workspace.Client, not string) workspace.DLQMessage {
	t.Helper()
	var got workspace.DLQMessage
	eventually(t, 90*time.Second, "a record in the split-failures queue", func() (bool, string) {
		msgs, err := c.Peek(ctx, workspace.QueueSplitFailures)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range msgs {
			if m.ID != not {
				if m.SplitFailure == nil {
					t.Fatalf("undecodable record: %s: %s", m.DecodeError, m.Body)
				}
				got = m
				return true, ""
			}
		}
		return false, "none yet"
	})
	return got
}
