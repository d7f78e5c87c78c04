package splitter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// These benchmarks are the splitter figures of `make bench` (issue 6): the
// whole service (both passes over the file, validation, message encoding,
// sending with its concurrency) against an in-memory queue, beside a bare
// encoding/json decode of the same file.

const (
	splitBenchOps    = 100_000
	splitBenchBucket = "memo-bench-batches"
	splitBenchKey    = "batches/bench.jsonl"
)

// splitBenchFile is a .jsonl batch of splitBenchOps ops, the same ops as
// internal/pipeline/batch's benchmarks generate.
var splitBenchFile = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	for i := range splitBenchOps {
		fmt.Fprintf(&b, `{"name":"op_%07d","op":"%d + %d * (%d - 2) / 4"}`+"\n", i, i, i%97, i%13)
	}
	return b.Bytes()
})

// benchQueue encodes each message as the SQS sender does and keeps counts
// only.
type benchQueue struct{ calls, sent atomic.Int64 }

func (q *benchQueue) SendBatch(_ context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	q.calls.Add(1)
	for _, m := range msgs {
		if _, err := m.Encode(); err != nil {
			return nil, err
		}
	}
	q.sent.Add(int64(len(msgs)))
	return nil, nil
}

// BenchmarkSplit is the splitter's throughput in ops/s: check, decode,
// validate, encode and send every op of a 100k-op file.
func BenchmarkSplit(b *testing.B) {
	data := splitBenchFile()
	objs := inmem.NewObjects()
	objs.Set(splitBenchBucket, splitBenchKey, data)
	q := &benchQueue{}
	svc := splitter.New(objs, q, splitter.Config{})
	ref := splitter.Ref{Bucket: splitBenchBucket, Key: splitBenchKey, Version: "v1"}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := svc.Split(context.Background(), ref)
		if err != nil || rep.Totals.Enqueued != splitBenchOps {
			b.Fatalf("split: %v, %+v", err, rep.Totals)
		}
	}
	b.ReportMetric(float64(splitBenchOps)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(q.calls.Load())/float64(q.sent.Load()), "sends/op")
}

// BenchmarkSplitBareDecode is the baseline: encoding/json decoding of the
// same file into a struct, with no validation and nothing sent.
func BenchmarkSplitBareDecode(b *testing.B) {
	data := splitBenchFile()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(data))
		n := 0
		for {
			var op struct {
				Name string `json:"name"`
				Op   string `json:"op"`
			}
			err := dec.Decode(&op)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != splitBenchOps {
			b.Fatalf("decoded %d ops", n)
		}
	}
	b.ReportMetric(float64(splitBenchOps)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
