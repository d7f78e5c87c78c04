package splitter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// callLog keeps every send call's messages (the inmem queue refuses a call
// over SQS's limits).
type callLog struct {
	inmem.Queue
	mu    sync.Mutex
	calls [][]record.Message
}

func (q *callLog) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	q.mu.Lock()
	q.calls = append(q.calls, msgs)
	q.mu.Unlock()
	return q.Queue.SendBatch(ctx, msgs)
}

// splitPacked runs a .jsonl batch of ops through a splitter packing packOps ops.
func splitPacked(t *testing.T, packOps int, ops []batch.Op) *callLog {
	t.Helper()
	objs, q := inmem.NewObjects(), &callLog{}
	var lines []string
	for _, op := range ops {
		lines = append(lines, fmt.Sprintf(`{"name":%q,"op":%q}`, op.Name, op.Op))
	}
	objs.Set(bucket, "batches/p.jsonl", []byte(strings.Join(lines, "\n")))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, PackOps: packOps, Concurrency: 1})
	if err := svc.Handle(context.Background(), s3Event("batches/p.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	got := q.Ops()
	if len(got) != len(ops) {
		t.Fatalf("%d ops sent, want %d", len(got), len(ops))
	}
	for i, op := range got {
		if op.Name != ops[i].Name || op.Op != ops[i].Op || op.Index != i {
			t.Fatalf("op %d sent as %+v, want %+v", i, op, ops[i])
		}
	}
	return q
}

func genOps(n int, op func(i int) string) []batch.Op {
	ops := make([]batch.Op, n)
	for i := range ops {
		ops[i] = batch.Op{Name: fmt.Sprintf("op_%05d", i), Op: op(i)}
	}
	return ops
}

func packSizes(q *callLog) (calls [][]int) {
	for _, c := range q.calls {
		var sizes []int
		for _, m := range c {
			sizes = append(sizes, len(m.Ops))
		}
		calls = append(calls, sizes)
	}
	return calls
}

// Small ops are packed by count: PackOps to a message, ten messages to a
// call; PackOps 1 is the one-op message of old.
func TestPacksByCount(t *testing.T) {
	small := func(i int) string { return fmt.Sprint(i, "+1") }
	for _, c := range []struct {
		packOps, ops int
		want         [][]int
	}{
		{3, 10, [][]int{{3, 3, 3, 1}}},
		{1, 25, [][]int{{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}}},
		{splitter.DefaultPackOps, 205, [][]int{{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, {10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, {5}}},
		{0, 25, [][]int{{10, 10, 5}}}, // the default
	} {
		q := splitPacked(t, c.packOps, genOps(c.ops, small))
		if d := cmp.Diff(c.want, packSizes(q)); d != "" {
			t.Errorf("PackOps %d, %d ops: packs per call (-want +got):\n%s", c.packOps, c.ops, d)
		}
	}
}

// Long ops are packed by bytes: no message over MaxPackBytes, each as full
// as the next op allows, no call over MaxCallBytes. The ops are made of
// U+FFFF, which takes 3 bytes raw and 6 escaped: the packing counts the
// body as it is sent.
func TestPacksByBytesAtTheLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		op   func(i int) string
	}{
		{"ascii", func(i int) string { return fmt.Sprintf("%d+%s", i, strings.Repeat("1", batch.MaxOpBytes-8)) }},
		{"U+FFFF", func(i int) string { return fmt.Sprintf("'%d%s'", i, strings.Repeat("\uFFFF", (batch.MaxOpBytes-10)/3)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops := genOps(1500, c.op)
			q := splitPacked(t, splitter.MaxPackOps, ops)
			next := 0
			for _, call := range q.calls {
				total := 0
				for _, m := range call {
					body, err := m.Encode()
					if err != nil {
						t.Fatal(err)
					}
					total += len(body)
					if len(body) > splitter.MaxPackBytes {
						t.Fatalf("a message of %d bytes, more than %d", len(body), splitter.MaxPackBytes)
					}
					next += len(m.Ops)
					if next < len(ops) {
						op := record.MessageOp{Name: ops[next].Name, Op: ops[next].Op, Index: next}
						if len(body)+record.OpSize(op) <= splitter.MaxPackBytes {
							t.Fatalf("a message of %d bytes and %d ops left out the next op (%d bytes)", len(body), len(m.Ops), record.OpSize(op))
						}
					}
				}
				if total > splitter.MaxCallBytes || len(call) > splitter.MaxSendBatch {
					t.Fatalf("a call of %d messages, %d bytes", len(call), total)
				}
			}
			if len(q.calls) < 2 {
				t.Fatalf("%d calls: the test wants several", len(q.calls))
			}
		})
	}
}
