// Package splitmem measures the splitter's memory on a generated batch. It
// links only the splitter and its in-memory fakes (no AWS SDK), so that the
// small program tools/bench/splitmem, which runs it in a process of
// its own, has the splitter's footprint and little else.
package splitmem

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Memory is what a process that split one generated batch used at its peak.
type Memory struct {
	Ops int `json:"ops"`
	// PeakRSS is the process's maximum resident set (VmHWM of
	// /proc/self/status), what Lambda reports as "Max Memory Used".
	// getrusage's ru_maxrss is not used: Linux carries the parent's peak
	// into it when a child is started with vfork (as os/exec does).
	PeakRSS uint64 `json:"peak_rss"`
	// PeakLiveHeap is the largest live heap the collector measured
	// (runtime/metrics /gc/heap/live:bytes, sampled every millisecond and
	// after a last collection): what the splitter retains.
	PeakLiveHeap uint64 `json:"peak_live_heap"`
	// PeakHeap is the largest heap in use, garbage not yet collected
	// included (/memory/classes/heap/objects:bytes).
	PeakHeap uint64 `json:"peak_heap"`
	// BaseRSS is the resident set before the split.
	BaseRSS  uint64  `json:"base_rss"`
	Enqueued int     `json:"enqueued"`
	Seconds  float64 `json:"seconds"`
}

// Measure splits a generated .jsonl batch of n distinct ops, streamed
// (never held), with the production splitter against a queue that encodes
// each message and keeps a count, and returns the process's peaks. Run it
// in a fresh process: the figures are the whole process's.
func Measure(n int) (Memory, error) {
	base, err := maxRSS()
	if err != nil {
		return Memory{}, err
	}
	objs := inmem.NewObjects()
	objs.Opener = func(splitter.Ref) (io.ReadCloser, error) { return io.NopCloser(NewGenerator(n)), nil }
	q := &countQueue{}
	svc := splitter.New(objs, q, splitter.Config{})

	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	var live, heap atomic.Uint64
	sample := func() {
		metrics.Read(samples)
		for i, a := range []*atomic.Uint64{&live, &heap} {
			if samples[i].Value.Kind() == metrics.KindUint64 {
				if v := samples[i].Value.Uint64(); v > a.Load() {
					a.Store(v)
				}
			}
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	start := time.Now()
	rep, err := svc.Split(context.Background(), splitter.Ref{Bucket: "memo-bench-batches", Key: "batches/mem.jsonl", Version: "v1"})
	el := time.Since(start)
	close(done)
	<-stopped
	if err != nil {
		return Memory{}, err
	}
	peak, err := maxRSS()
	if err != nil {
		return Memory{}, err
	}
	runtime.GC() // the live heap at the end, duplicate set included
	sample()
	runtime.KeepAlive(svc)
	if rep.Totals.Enqueued != n || int(q.sent.Load()) != n {
		return Memory{}, fmt.Errorf("split %d ops: enqueued %d, sent %d", n, rep.Totals.Enqueued, q.sent.Load())
	}
	return Memory{
		Ops: n, PeakRSS: peak, BaseRSS: base, PeakLiveHeap: live.Load(), PeakHeap: heap.Load(),
		Enqueued: rep.Totals.Enqueued, Seconds: el.Seconds(),
	}, nil
}

// maxRSS is the process's peak resident set: VmHWM from /proc/self/status,
// or getrusage's ru_maxrss where there is no /proc.
func maxRSS() (uint64, error) {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("VmHWM %q: %w", v, err)
				}
				return kb * 1024, nil
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return uint64(ru.Maxrss) * 1024, nil // kilobytes on Linux
}

// countQueue encodes each message as the SQS sender does and counts their
// ops.
type countQueue struct{ sent atomic.Int64 }

func (q *countQueue) SendBatch(_ context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	for _, m := range msgs {
		if _, err := m.Encode(); err != nil {
			return nil, err
		}
		q.sent.Add(int64(len(m.Ops)))
	}
	return nil, nil
}

// Generator streams a .jsonl batch of n distinct ops, producing each op as
// it is read: the file is never held in memory.
type Generator struct {
	n, i int
	buf  []byte
	off  int
}

// NewGenerator returns a Generator of n ops.
func NewGenerator(n int) *Generator { return &Generator{n: n} }

func (g *Generator) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if g.off == len(g.buf) {
			if g.i == g.n {
				break
			}
			g.buf = Line(g.buf[:0], g.i)
			g.off = 0
			g.i++
		}
		c := copy(p[total:], g.buf[g.off:])
		g.off += c
		total += c
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

// Line appends the i-th op of a generated batch as a .jsonl line: the same
// ops as internal/pipeline/batch's benchmarks, named op_0000000 on.
func Line(b []byte, i int) []byte {
	return fmt.Appendf(b, `{"name":"op_%07d","op":"%d + %d * (%d - 2) / 4"}`+"\n", i, i, i%97, i%13)
}
