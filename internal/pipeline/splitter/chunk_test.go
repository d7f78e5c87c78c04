package splitter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// batchFile writes n ops as a .json or .jsonl file, with the names given
// by name(i) (valid ops "op_i -> i*2+1" unless name says otherwise), and
// whitespace between ops that a run must cope with.
func batchFile(jsonl bool, n int, name func(i int) string) []byte {
	var b strings.Builder
	if !jsonl {
		b.WriteString("\uFEFF{\"v\": [1, 2],\n \"ops\": [\n")
	}
	for i := range n {
		if i > 0 {
			if jsonl {
				b.WriteString("\r\n\n")
			} else {
				b.WriteString(" ,\n\t")
			}
		}
		fmt.Fprintf(&b, `{"name": %q, "op": "%d*2+1"}`, name(i), i)
	}
	if !jsonl {
		b.WriteString("\n ]}\n")
	}
	return []byte(b.String())
}

func opName(i int) string { return fmt.Sprintf("op_%d", i) }

// rangeLog records the ranges the splitter reads.
type rangeLog struct {
	*inmem.Objects
	mu   sync.Mutex
	refs []splitter.Ref
}

func (r *rangeLog) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	r.mu.Lock()
	r.refs = append(r.refs, ref)
	r.mu.Unlock()
	return r.Objects.Open(ctx, ref)
}

func plan(t *testing.T, objs *inmem.Objects, id string) record.Plan {
	t.Helper()
	b, ok := objs.Object(bucket, naming.PlanKey(id))
	if !ok {
		t.Fatalf("no plan at %s", naming.PlanKey(id))
	}
	p, err := record.DecodePlan(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkEveryOpOnce fails unless the queue holds exactly one message per op
// index in want (name and expression right) and nothing else.
func checkEveryOpOnce(t *testing.T, msgs []inmem.QueuedOp, id string, want map[int]string) {
	t.Helper()
	seen := map[int]int{}
	for _, m := range msgs {
		seen[m.Index]++
		if name, ok := want[m.Index]; !ok || m.Name != name || m.Op != fmt.Sprintf("%d*2+1", m.Index) || m.Batch != id {
			t.Fatalf("unexpected message %+v", m)
		}
	}
	for i := range want {
		if seen[i] != 1 {
			t.Fatalf("op %d sent %d times", i, seen[i])
		}
	}
}

// A 3,000-op batch with chunks of 500 is planned as 6 chunks at op
// boundaries; each chunk reads only its bytes, and every op is enqueued
// once, in both forms, whatever the chunks in flight.
func TestChunksEnqueueEveryOpOnce(t *testing.T) {
	for _, jsonl := range []bool{false, true} {
		for _, inflight := range []int{1, 4} {
			key := "batches/big.json"
			if jsonl {
				key += "l"
			}
			objs := &rangeLog{Objects: inmem.NewObjects()}
			q := &inmem.Queue{}
			file := batchFile(jsonl, 3000, opName)
			objs.Set(bucket, key, file)
			svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, InlineChunks: inflight})
			if err := svc.Handle(context.Background(), s3Event(key, "v1")); err != nil {
				t.Fatal(err)
			}
			id := key + "@v1"
			want := map[int]string{}
			for i := range 3000 {
				want[i] = opName(i)
			}
			checkEveryOpOnce(t, q.Ops(), id, want)
			rep := report(t, objs.Objects, naming.ReportKey(key))
			if rep.Status != record.ReportSplit || rep.Totals != (record.Totals{Ops: 3000, Enqueued: 3000}) {
				t.Fatalf("report %+v", rep)
			}
			p := plan(t, objs.Objects, id)
			if len(p.Chunks) != 6 {
				t.Fatalf("%d chunks, want 6", len(p.Chunks))
			}
			ranged := 0
			for _, ref := range objs.refs {
				if ref.Length == 0 {
					continue
				}
				ranged++
				run := string(file[ref.Offset : ref.Offset+ref.Length])
				if !strings.HasPrefix(run, `{"name": "op_`) || !strings.HasSuffix(run, `*2+1"}`) {
					t.Fatalf("chunk range %d+%d is not a run of ops: %.40q...%.40q", ref.Offset, ref.Length, run, run[max(0, len(run)-40):])
				}
			}
			if ranged != 6 || len(objs.refs) != 7 {
				t.Fatalf("%d reads, %d ranged: want the plan pass and 6 ranged reads", len(objs.refs), ranged)
			}
		}
	}
}

// A duplicate whose first op sits in another chunk is rejected as
// "duplicate of op N" with the right N, and no chunk enqueues it.
func TestDuplicateAcrossChunks(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	names := map[int]string{1200: opName(3), 2999: opName(700), 701: opName(700)}
	name := func(i int) string {
		if n, ok := names[i]; ok {
			return n
		}
		return opName(i)
	}
	objs.Set(bucket, "batches/dup.jsonl", batchFile(true, 3000, name))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, InlineChunks: 3})
	if err := svc.Handle(context.Background(), s3Event("batches/dup.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{}
	for i := range 3000 {
		want[i] = name(i)
	}
	delete(want, 701)
	delete(want, 1200)
	delete(want, 2999)
	checkEveryOpOnce(t, q.Ops(), "batches/dup.jsonl@v", want)
	rep := report(t, objs, "reports/dup.jsonl.json")
	wantRej := []record.Rejection{
		{Index: 701, Name: opName(700), Reason: "duplicate of op 700"},
		{Index: 1200, Name: opName(3), Reason: "duplicate of op 3"},
		{Index: 2999, Name: opName(700), Reason: "duplicate of op 700"},
	}
	if diff := cmp.Diff(record.Totals{Ops: 3000, Enqueued: 2997, Rejected: 3}, rep.Totals); diff != "" {
		t.Errorf("report totals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRej, rep.Rejections); diff != "" {
		t.Errorf("report rejections (-want +got):\n%s", diff)
	}
	p := plan(t, objs, "batches/dup.jsonl@v")
	for n, want := range map[int][][2]int{1: {{701, 702}}, 2: {{1200, 1201}}, 5: {{2999, 3000}}} {
		if diff := cmp.Diff(want, p.Chunks[n].Skip); diff != "" {
			t.Errorf("chunk %d skips (-want +got):\n%s", n, diff)
		}
	}
}

// A file broken after 3,000 good ops enqueues nothing and stores no plan.
func TestBrokenAfterManyChunksEnqueuesNothing(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	file := batchFile(false, 3000, opName)
	file = append(file[:len(file)-3], "x}"...)
	objs.Set(bucket, "batches/broken.json", file)
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500})
	if err := svc.Handle(context.Background(), s3Event("batches/broken.json", "v")); err != nil {
		t.Fatal(err)
	}
	if n := len(q.Ops()); n != 0 {
		t.Fatalf("%d messages sent for a broken file", n)
	}
	if rep := report(t, objs, "reports/broken.json.json"); rep.Status != record.ReportRejected || rep.Offset == nil {
		t.Fatalf("report %+v", rep)
	}
	if _, ok := objs.Object(bucket, naming.PlanKey("batches/broken.json@v")); ok {
		t.Fatal("a plan was stored for a broken file")
	}
}

// A batch over MaxOps is rejected whole by the plan pass, with a report
// that says why, before anything is enqueued.
func TestTooLargeBatchIsRejectedUpFront(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	objs.Set(bucket, "batches/huge.jsonl", batchFile(true, 101, opName))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 10, MaxOps: 100})
	if err := svc.Handle(context.Background(), s3Event("batches/huge.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	rep := report(t, objs, "reports/huge.jsonl.json")
	if n := len(q.Ops()); n != 0 {
		t.Errorf("%d ops enqueued, want 0", n)
	}
	if rep.Status != record.ReportRejected {
		t.Errorf("report status %q, want %q", rep.Status, record.ReportRejected)
	}
	if !strings.Contains(rep.Error, "more than 100 ops") {
		t.Errorf("report error %q, want it to say more than 100 ops", rep.Error)
	}
	// 100 ops are fine.
	objs.Set(bucket, "batches/ok.jsonl", batchFile(true, 100, opName))
	if err := svc.Handle(context.Background(), s3Event("batches/ok.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	if rep := report(t, objs, "reports/ok.jsonl.json"); rep.Status != record.ReportSplit || rep.Totals.Enqueued != 100 {
		t.Fatalf("report %+v", rep)
	}
}

// With a chunk queue, Split only plans, writes an in-progress report and
// queues one task per chunk; the final report is written by the chunk that
// finds every chunk done, with exact totals. A task delivered twice is
// harmless, and a chunk whose invocation crashes half way (here: its sends fail after a few calls) is reported as
// a failed item, delivered again, and the batch still ends with every op
// enqueued.
func TestChunkTasksThroughAQueue(t *testing.T) {
	objs, q, chunks := inmem.NewObjects(), &inmem.Queue{}, &inmem.ChunkQueue{}
	objs.Set(bucket, "batches/q.json", batchFile(false, 3000, opName))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, Chunks: chunks})
	rep, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/q.json", Version: "v"})
	if err != nil {
		t.Fatal(err)
	}
	tasks := chunks.Tasks()
	if len(tasks) != 6 {
		t.Errorf("%d chunk tasks queued, want 6", len(tasks))
	}
	if n := len(q.Ops()); n != 0 {
		t.Errorf("%d ops enqueued by the plan pass, want 0", n)
	}
	if rep.Status != record.ReportSplitting || rep.Totals.Ops != 3000 {
		t.Errorf("returned report %+v, want splitting, 3000 ops", rep)
	}
	// Until the chunks are done the stored report says so.
	if diff := cmp.Diff(outcome{Status: record.ReportSplitting, Totals: record.Totals{Ops: 3000}, Chunks: 6}, outcomeOf(report(t, objs, "reports/q.json.json"))); diff != "" {
		t.Fatalf("in-progress report (-want +got):\n%s", diff)
	}

	// Chunk 2's first delivery crashes after 2 of its 5 send calls (500
	// ops, packs of 10, 10 packs a call).
	calls := 0
	q.Fail = func(msgs []record.Message) ([]splitter.SendFailure, error) {
		if i := msgs[0].Ops[0].Index; i >= 1000 && i < 1500 {
			if calls++; calls > 2 {
				return nil, errors.New("invocation crashed")
			}
		}
		return nil, nil
	}
	resp, err := svc.HandleChunks(context.Background(), inmem.ChunkEvent(tasks[:4]...))
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "c2" {
		t.Fatalf("first delivery: %+v %v (want chunk 2 failed)", resp, err)
	}
	q.Fail = nil
	// Chunk 0 again (a redelivery), chunk 2 again (its retry), the rest.
	resp, err = svc.HandleChunks(context.Background(), inmem.ChunkEvent(tasks[0], tasks[2], tasks[4]))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second delivery: %+v %v", resp, err)
	}
	if r := report(t, objs, "reports/q.json.json"); r.Status != record.ReportSplitting {
		t.Fatalf("report %+v with chunk 5 not done", r)
	}
	if resp, err := svc.HandleChunks(context.Background(), inmem.ChunkEvent(tasks[5])); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("last chunk: %+v %v", resp, err)
	}
	got := report(t, objs, "reports/q.json.json")
	if diff := cmp.Diff(outcome{Status: record.ReportSplit, Totals: record.Totals{Ops: 3000, Enqueued: 3000}, Chunks: 6}, outcomeOf(got)); diff != "" {
		t.Fatalf("report (-want +got):\n%s", diff)
	}
	seen := map[int]bool{}
	for _, m := range q.Ops() {
		seen[m.Index] = true
	}
	if len(seen) != 3000 {
		t.Fatalf("%d distinct ops enqueued, want 3000", len(seen))
	}
	// A task of another batch, or past the plan's chunks, fails alone.
	bad := tasks[0]
	bad.Chunk = 6
	if resp, _ := svc.HandleChunks(context.Background(), inmem.ChunkEvent(bad)); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("a task past the plan: %+v", resp)
	}
}

// A failed write of a done marker or of the report is retried within the
// chunk's invocation: the chunk is not sent back to the queue for it.
func TestChunkBookkeepingIsRetried(t *testing.T) {
	objs, q, chunks := inmem.NewObjects(), &inmem.Queue{}, &inmem.ChunkQueue{}
	objs.Set(bucket, "batches/r.jsonl", batchFile(true, 20, opName))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 10, Chunks: chunks})
	if _, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/r.jsonl", Version: "v"}); err != nil {
		t.Fatal(err)
	}
	failed := map[string]int{}
	objs.FailPut = func(_, key string) error {
		if strings.Contains(key, "/done/") || key == "reports/r.jsonl.json" {
			if failed[key]++; failed[key] <= 2 {
				return errors.New("SlowDown")
			}
		}
		return nil
	}
	resp, err := svc.HandleChunks(context.Background(), inmem.ChunkEvent(chunks.Tasks()...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	if rep := report(t, objs, "reports/r.jsonl.json"); rep.Status != record.ReportSplit || rep.Totals.Enqueued != 20 {
		t.Errorf("report %+v, want split with 20 ops enqueued", rep)
	}
	if len(failed) != 3 {
		t.Errorf("failed writes %v, want 3", failed)
	}
}
