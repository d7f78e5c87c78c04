package compute_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/casbin/govaluate"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/record"
)

// These benchmarks are the compute figures of `make bench` (issue 6): the
// whole handler (decode each message, evaluate, encode, write 25 at a
// time) on SQS events of 100 messages of 10 ops (Terraform's
// compute_batch_size and split_pack_ops), against an in-memory table,
// beside a bare govaluate parse+evaluate of the same expressions.

// computeBenchOps is the number of distinct ops, sent as events of
// computeBenchBatch messages (the event source mapping's default) of
// computeBenchPack ops each.
const (
	computeBenchOps   = 2000
	computeBenchBatch = 100
	computeBenchPack  = 10
)

// computeBenchExprs are the same mixed forms as internal/pipeline/eval's benchmark.
var computeBenchExprs = func() []string {
	forms := []string{
		"%d+1", "%d*2", "(%d+%d)/%d", "%d - %d * 3", "%d.5 ** 2 %% 7", "-%d / (%d + 1)",
		"%d %% 9 + %d / 4", "(%d - 1) * (%d + 1) - 2 ** 3", "%d < %d", "%d + 0.25 == %d",
	}
	verbs := []int{1, 1, 3, 2, 1, 2, 2, 2, 2, 2}
	out := make([]string, 0, computeBenchOps)
	for i := range computeBenchOps {
		k := i % len(forms)
		args := []any{i + 1, i + 2, i%7 + 1}
		out = append(out, fmt.Sprintf(forms[k], args[:verbs[k]]...))
	}
	return out
}()

var computeBenchEvents = sync.OnceValue(func() []events.SQSEvent {
	var evs []events.SQSEvent
	for start := 0; start < computeBenchOps; start += computeBenchBatch * computeBenchPack {
		var ev events.SQSEvent
		for m := start; m < start+computeBenchBatch*computeBenchPack; m += computeBenchPack {
			msg := record.Message{Batch: "batches/bench.jsonl@v1"}
			for i := m; i < m+computeBenchPack; i++ {
				msg.Ops = append(msg.Ops, record.MessageOp{Name: fmt.Sprintf("op_%04d", i), Op: computeBenchExprs[i], Index: i})
			}
			body, err := msg.Encode()
			if err != nil {
				panic(err)
			}
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", m), Body: body})
		}
		evs = append(evs, ev)
	}
	return evs
})

// benchTable is an in-memory results table that keeps the last result of
// each name (inmem.Table keeps every write, which would grow with b.N).
type benchTable struct {
	mu    sync.Mutex
	items map[string]record.Result
	calls atomic.Int64
}

var _ compute.ResultWriter = (*benchTable)(nil)

func (t *benchTable) Put(_ context.Context, r record.Result) error {
	t.calls.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.items[r.Name] = r
	return nil
}

// BenchmarkCompute is compute's throughput in ops/s.
func BenchmarkCompute(b *testing.B) {
	evs := computeBenchEvents()
	table := &benchTable{items: map[string]record.Result{}}
	svc := compute.New(table, compute.Expressions(eval.Evaluate), compute.Config{Ops: 1}) // as lambda/compute runs it
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		resp, err := svc.Handle(context.Background(), evs[i%len(evs)])
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("handle: %v, %d failures", err, len(resp.BatchItemFailures))
		}
		i++
	}
	ops := float64(computeBenchBatch*computeBenchPack) * float64(b.N)
	b.ReportMetric(ops/b.Elapsed().Seconds(), "ops/s")
	// B/op is per event; make bench divides it by this for a figure per op.
	b.ReportMetric(computeBenchBatch*computeBenchPack, "ops/event")
	b.ReportMetric(float64(table.calls.Load())/ops, "writes/op")
	for _, r := range table.items {
		if r.Status != record.StatusOK {
			b.Fatalf("%s: %s", r.Name, r.Error)
		}
	}
}

// BenchmarkComputeBareGovaluate is the baseline: a bare govaluate parse and
// evaluate of the same expressions, nothing decoded, checked or stored.
func BenchmarkComputeBareGovaluate(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e, err := govaluate.NewEvaluableExpression(computeBenchExprs[i%len(computeBenchExprs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Evaluate(nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
