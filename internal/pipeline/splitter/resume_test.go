package splitter_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// failingChunks fails SendChunks while fail is set.
type failingChunks struct {
	*inmem.ChunkQueue
	fail bool
}

func (f *failingChunks) SendChunks(ctx context.Context, tasks []record.ChunkTask) error {
	if f.fail {
		return errors.New("SQS is unavailable")
	}
	return f.ChunkQueue.SendChunks(ctx, tasks)
}

// Resuming a batch (memo resume) splits it again from the same S3 event,
// after some of its chunks were done and a later attempt failed. That is
// idempotent: the plan is keyed by the batch id (key@ETag) and comes out
// byte for byte the same; the chunk tasks are the same; every op message
// carries its name, the batch and the batch's stamp (from the event), so
// the ops enqueued twice are the same messages; the done markers are per
// chunk, so the chunks done twice count once; and the report goes from
// failed to splitting to split with exact totals.
func TestResumedSplitIsIdempotent(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	chunks := &failingChunks{ChunkQueue: &inmem.ChunkQueue{}}
	const key = "batches/resume.json"
	objs.Set(bucket, key, batchFile(false, 3000, opName))
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, Chunks: chunks, Now: func() time.Time { return now }})
	// The event the split-failures record keeps, as the splitter sees it.
	ref := splitter.Ref{Bucket: bucket, Key: key, ETag: "etag-1", EventTime: now.Add(-time.Minute), Sequencer: "0055AED6DCD90281E5"}
	id := naming.BatchID(key, "etag-1")
	ctx := context.Background()

	// The first invocation plans and queues the chunks; three are done.
	if _, err := svc.Split(ctx, ref); err != nil {
		t.Fatal(err)
	}
	first := chunks.Tasks()
	plan1, _ := objs.Object(bucket, naming.PlanKey(id))
	if resp, err := svc.HandleChunks(ctx, inmem.ChunkEvent(first[:3]...)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("chunks 0-2: %+v %v", resp, err)
	}
	// A later invocation of the same event fails (its chunk tasks cannot
	// be queued): the report says failed.
	chunks.fail = true
	if _, err := svc.Split(ctx, ref); err == nil {
		t.Fatal("Split succeeded with a failing chunk queue")
	}
	if r := report(t, objs, naming.ReportKey(key)); r.Status != record.ReportFailed || r.Batch != id {
		t.Fatalf("report after the failure: %+v", r)
	}

	// memo resume: the same event again.
	chunks.fail = false
	rep, err := svc.Split(ctx, ref)
	if err != nil || rep.Status != record.ReportSplitting {
		t.Fatalf("resumed split: %+v %v", rep, err)
	}
	if plan2, _ := objs.Object(bucket, naming.PlanKey(id)); !bytes.Equal(plan1, plan2) {
		t.Fatalf("the plan changed:\n%s\n%s", plan1, plan2)
	}
	again := chunks.Tasks()[len(first):]
	if len(again) != len(first) {
		t.Fatalf("%d tasks queued again, want %d", len(again), len(first))
	}
	for i := range first {
		if again[i] != first[i] {
			t.Fatalf("task %d: %+v, first time %+v", i, again[i], first[i])
		}
	}
	// Every task of the resumed split runs (chunks 0-2 a second time),
	// and so do the first split's tasks still queued (chunks 3-5 a second
	// time): every op is enqueued twice, as the same message.
	for _, ts := range [][]record.ChunkTask{again, first[3:]} {
		if resp, err := svc.HandleChunks(ctx, inmem.ChunkEvent(ts...)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("chunks: %+v %v", resp, err)
		}
	}
	got := report(t, objs, naming.ReportKey(key))
	if diff := cmp.Diff(outcome{Status: record.ReportSplit, Totals: record.Totals{Ops: 3000, Enqueued: 3000}, Chunks: 6}, outcomeOf(got)); diff != "" {
		t.Errorf("final report (-want +got):\n%s", diff)
	}
	if got.Batch != id {
		t.Errorf("final report of batch %q, want %q", got.Batch, id)
	}
	if done, _ := objs.List(ctx, bucket, naming.ChunkDonePrefix(id)); len(done) != 6 {
		t.Fatalf("%d done markers, want 6", len(done))
	}
	var stamp record.Stamp
	byName := map[string]inmem.QueuedOp{}
	for _, m := range q.Ops() {
		if stamp == "" {
			stamp = m.Stamp
		}
		if m.Batch != id || m.Stamp != stamp || stamp == "" {
			t.Fatalf("message %+v: want batch %s and one stamp %q", m, id, stamp)
		}
		if prev, ok := byName[m.Name]; ok && prev != m {
			t.Fatalf("op %s enqueued as %+v and as %+v", m.Name, prev, m)
		}
		byName[m.Name] = m
	}
	if len(byName) != 3000 || len(q.Ops()) != 2*3000 {
		t.Fatalf("%d distinct ops in %d messages, want 3000 in %d", len(byName), len(q.Ops()), 2*3000)
	}
}
