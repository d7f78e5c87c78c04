package fn

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
)

// countingTable stores nothing and counts the writes.
type countingTable struct{ calls atomic.Int64 }

func (t *countingTable) Put(context.Context, record.Result) error { t.calls.Add(1); return nil }

// BenchmarkFnNoop is the plumbing's cost per op around a function that
// returns at once: decode, dedupe, run under its time limit, convert and
// check the value, write (to a table that stores nothing), answer. make
// bench prints it as fn_plumbing_ns_per_op.
func BenchmarkFnNoop(b *testing.B) {
	const batch = 100
	var ev events.SQSEvent
	for i := range batch {
		body, _ := record.Message{Batch: "b", Ops: []record.MessageOp{{Name: fmt.Sprintf("op_%03d", i), Op: "x", Index: i}}}.Encode()
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint(i), Body: body})
	}
	table := &countingTable{}
	noop := func(context.Context, Op) (any, error) { return map[string]any{"ok": true}, nil }
	svc := compute.New(table, wrap(noop), Options{}.config())
	b.ReportAllocs()
	for b.Loop() {
		resp, err := svc.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("handle: %v, %d failures", err, len(resp.BatchItemFailures))
		}
	}
	ops := float64(batch) * float64(b.N)
	b.ReportMetric(b.Elapsed().Seconds()*1e9/ops, "ns/fnop")
	b.ReportMetric(ops/b.Elapsed().Seconds(), "ops/s")
	if got := table.calls.Load(); float64(got) != ops {
		b.Fatalf("%d writes for %.0f ops", got, ops)
	}
}
