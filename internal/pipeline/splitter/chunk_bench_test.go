package splitter_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// slowQueue accepts every message after a fixed latency per call, as
// SendMessageBatch takes about 20 ms on AWS.
type slowQueue struct {
	latency time.Duration
	sent    atomic.Int64
}

func (q *slowQueue) SendBatch(_ context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	time.Sleep(q.latency)
	q.sent.Add(int64(len(msgs)))
	return nil, nil
}

// discardChunks takes chunk tasks and drops them: Split then only plans.
type discardChunks struct{ tasks atomic.Int64 }

func (d *discardChunks) SendChunks(_ context.Context, tasks []record.ChunkTask) error {
	d.tasks.Add(int64(len(tasks)))
	return nil
}

// BenchmarkChunksInFlight is the split rate with a simulated 20 ms SQS
// call, for 1, 4, 16 and 64 chunks in flight (each with 8 sends in flight,
// pinned so that the figures stay comparable across default changes): 64
// chunks of 1,000 ops. The goal is near-linear scaling: chunks share
// nothing but the plan.
//
//	go test -run '^$' -bench ChunksInFlight -benchtime 1x ./internal/pipeline/splitter/
func BenchmarkChunksInFlight(b *testing.B) {
	const chunks, chunkOps = 64, 1000
	for _, inflight := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("chunks=%d", inflight), func(b *testing.B) {
			objs := inmem.NewObjects()
			objs.Opener = func(splitter.Ref) (io.ReadCloser, error) { return io.NopCloser(newGen(chunks * chunkOps)), nil }
			q := &slowQueue{latency: 20 * time.Millisecond}
			svc := splitter.New(objs, q, splitter.Config{ChunkOps: chunkOps, InlineChunks: inflight, Concurrency: 8})
			for b.Loop() {
				rep, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/b.jsonl", Version: "v"})
				if err != nil || rep.Totals.Enqueued != chunks*chunkOps {
					b.Fatalf("split: %v %+v", err, rep.Totals)
				}
			}
			b.ReportMetric(float64(chunks*chunkOps)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkPlan is the plan pass alone (structure, per-op rules, duplicate
// detection, chunk boundaries) over a generated 1M-op .jsonl file, on one
// core (GOMAXPROCS=1 to state it so).
//
//	GOMAXPROCS=1 go test -run '^$' -bench Plan -benchtime 1x ./internal/pipeline/splitter/
func BenchmarkPlan(b *testing.B) {
	const n = 1_000_000
	objs := inmem.NewObjects()
	objs.Opener = func(splitter.Ref) (io.ReadCloser, error) { return io.NopCloser(newGen(n)), nil }
	chunks := &discardChunks{}
	svc := splitter.New(objs, &slowQueue{}, splitter.Config{Chunks: chunks})
	for b.Loop() {
		rep, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/b.jsonl", Version: "v"})
		if err != nil || rep.Totals.Ops != n {
			b.Fatalf("plan: %v %+v", err, rep.Totals)
		}
	}
	if chunks.tasks.Load() != int64(b.N)*n/splitter.DefaultChunkOps {
		b.Fatalf("%d chunk tasks", chunks.tasks.Load())
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
