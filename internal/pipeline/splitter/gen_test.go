package splitter_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// gen streams a .jsonl batch of n ops without holding it.
type gen struct {
	n, i int
	buf  []byte
}

func newGen(n int) *gen { return &gen{n: n} }

func (g *gen) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = fmt.Appendf(g.buf, `{"name":"op_%d","op":"%d * 2 + 1"}`+"\n", g.i, g.i)
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// countingQueue accepts every message and keeps only a count of ops, so that a
// memory measurement sees the splitter's memory and not the fake's.
type countingQueue struct{ sent atomic.Int64 }

func (q *countingQueue) SendBatch(_ context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	for _, m := range msgs {
		if _, err := m.Encode(); err != nil {
			return nil, err
		}
	}
	for _, m := range msgs {
		q.sent.Add(int64(len(m.Ops)))
	}
	return nil, nil
}

// peakHeapGrowth samples the heap while f runs and returns its peak growth
// over the heap before f. The collector runs at GOGC=10 meanwhile, so that
// the heap in use stays close to the live heap and the figure measures
// what f retains rather than when the collector happened to run.
func peakHeapGrowth(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	f()
	close(done)
	<-stopped
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}
