package splitter_test

// The edges of a chunk's run and of the plan pass that the mutation run
// of issue 15 found untested: a chunk's bytes that hold more or fewer ops
// than the plan says, the bound on bookkeeping retries, a cancelled plan
// pass, and the default chunk size.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// linesFile is n ops as JSON Lines, one "\n" after each.
func linesFile(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "{\"name\": %q, \"op\": \"%d*2+1\"}\n", opName(i), i)
	}
	return b.Bytes()
}

// rewriteRange is a store whose ranged reads at offset at are passed
// through edit: the object "changed" under a chunk after its plan.
type rewriteRange struct {
	*inmem.Objects
	at   int64
	edit func([]byte) []byte
}

func (r *rewriteRange) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	body, err := r.Objects.Open(ctx, ref)
	if err != nil || ref.Length == 0 || ref.Offset != r.at {
		return body, err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(r.edit(b))), nil
}

// chunkOffset is the byte offset of chunk n in a plan of linesFile ops.
func chunkOffset(file []byte, firstOp int) int64 {
	return int64(bytes.Index(file, fmt.Appendf(nil, `{"name": %q`, opName(firstOp))))
}

// A chunk whose bytes hold one op more than its plan fails before it
// sends anything of that op: the extra op is not the batch's.
func TestChunkWithAnExtraOpSendsNoneOfIt(t *testing.T) {
	file := linesFile(2000)
	objs := &rewriteRange{Objects: inmem.NewObjects(), at: chunkOffset(file, 500), edit: func(b []byte) []byte {
		return append(b, "\n"+`{"name": "extra", "op": "1"}`...)
	}}
	objs.Set(bucket, "batches/x.jsonl", file)
	q := &inmem.Queue{}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, InlineChunks: 1})
	_, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/x.jsonl", Version: "v"})
	if err == nil || !strings.Contains(err.Error(), "changed since it was planned") {
		t.Fatalf("err = %v, want the object changed", err)
	}
	for _, m := range q.Ops() {
		if m.Name == "extra" || m.Index >= 1000 {
			t.Fatalf("sent %+v: an op past chunk 1's plan", m)
		}
	}
}

// A chunk whose bytes hold fewer ops than its plan fails (its count check),
// and the inline run names the chunk and its ops.
func TestChunkWithFewerOpsFails(t *testing.T) {
	file := linesFile(2000)
	objs := &rewriteRange{Objects: inmem.NewObjects(), at: chunkOffset(file, 500), edit: func(b []byte) []byte {
		lines := bytes.SplitAfter(b, []byte("\n"))
		return bytes.Join(lines[:250], nil)
	}}
	objs.Set(bucket, "batches/f.jsonl", file)
	q := &inmem.Queue{}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 500, InlineChunks: 1})
	_, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/f.jsonl", Version: "v"})
	if err == nil {
		t.Fatal("Split succeeded with a chunk short of ops")
	}
	for _, want := range []string{"chunk 1 (ops 500..999)", "read 250 of 500 ops"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	rep := report(t, objs.Objects, "reports/f.jsonl.json")
	if rep.Status != record.ReportFailed {
		t.Fatalf("report %+v, want failed", rep)
	}
}

// A done marker that cannot be written is tried exactly the retry
// policy's attempts, then the chunk fails (and SQS delivers it again).
func TestChunkBookkeepingRetriesAreBounded(t *testing.T) {
	objs, q, chunks := inmem.NewObjects(), &inmem.Queue{}, &inmem.ChunkQueue{}
	objs.Set(bucket, "batches/b.jsonl", linesFile(20))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 10, Chunks: chunks})
	if _, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/b.jsonl", Version: "v"}); err != nil {
		t.Fatal(err)
	}
	var puts atomic.Int64
	objs.FailPut = func(_, key string) error {
		// give up failing after 50, so that a loop that never stops shows
		// as a count rather than a hung test
		if strings.Contains(key, "/done/0") && puts.Add(1) <= 50 {
			return errors.New("SlowDown")
		}
		return nil
	}
	resp, err := svc.HandleChunks(context.Background(), inmem.ChunkEvent(chunks.Tasks()[0]))
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("%+v %v: want chunk 0 failed", resp, err)
	}
	if n := puts.Load(); n != int64(noWait.Attempts) {
		t.Fatalf("the done marker was tried %d times, want %d (the policy's attempts)", n, noWait.Attempts)
	}
}

// cancelAfter is a reader that cancels a context once it has delivered n
// bytes, and counts what it delivered.
type cancelAfter struct {
	r      io.Reader
	n      int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p[:min(len(p), 512)])
	c.read += int64(k)
	if c.read >= c.n {
		c.cancel()
	}
	return k, err
}

func (c *cancelAfter) Close() error { return nil }

// A plan pass whose invocation is cancelled stops within a few thousand
// ops (it looks every 4,096) instead of reading the rest of the object,
// and enqueues nothing.
func TestCancelledPlanPassStopsReading(t *testing.T) {
	file := linesFile(20_000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	objs := inmem.NewObjects()
	var body *cancelAfter
	objs.Opener = func(splitter.Ref) (io.ReadCloser, error) {
		body = &cancelAfter{r: bytes.NewReader(file), n: chunkOffset(file, 5000), cancel: cancel}
		return body, nil
	}
	q, chunks := &inmem.Queue{}, &inmem.ChunkQueue{}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 1000, Chunks: chunks})
	_, err := svc.Split(ctx, splitter.Ref{Bucket: bucket, Key: "batches/c.jsonl", Version: "v"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if stop := chunkOffset(file, 8192+1000); body.read >= stop {
		t.Fatalf("read %d of %d bytes after the cancellation at op 5,000, want it to stop by op 8,192 (byte %d)", body.read, len(file), stop)
	}
	if len(q.Ops()) != 0 || len(chunks.Tasks()) != 0 {
		t.Fatalf("%d messages, %d chunk tasks after a cancelled plan pass", len(q.Ops()), len(chunks.Tasks()))
	}
}

// Without a chunk size the plan uses DefaultChunkOps.
func TestDefaultChunkOps(t *testing.T) {
	objs, q, chunks := inmem.NewObjects(), &inmem.Queue{}, &inmem.ChunkQueue{}
	objs.Set(bucket, "batches/d.jsonl", linesFile(splitter.DefaultChunkOps+1))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, Chunks: chunks})
	if _, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/d.jsonl", Version: "v"}); err != nil {
		t.Fatal(err)
	}
	p := plan(t, objs, "batches/d.jsonl@v")
	var counts []int
	for _, c := range p.Chunks {
		counts = append(counts, c.Count)
	}
	if diff := cmp.Diff([]int{splitter.DefaultChunkOps, 1}, counts); diff != "" {
		t.Fatalf("ops per chunk (-want +got):\n%s", diff)
	}
}
