package status

import (
	"context"
	"testing"

	"github.com/memohq/memo/internal/pipeline/record"
)

// chunkSource is a fakeSource that counts done chunks.
type chunkSource struct {
	fakeSource
	done int
}

func (c chunkSource) ChunksDone(context.Context, string) (int, error) { return c.done, nil }

// A batch still splitting in chunks has not settled, even with the ops
// queue empty and ops missing; its done chunks are counted, and the batch
// object is not read for names (its ops are not all queued yet).
func TestSplittingBatchIsInProgress(t *testing.T) {
	rep := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplitting, Chunks: 4, Totals: record.Totals{Ops: 2}}
	reads := 0
	src := chunkSource{fakeSource{rep: rep, counts: Counts{OK: 1}, names: []string{"a", "b"}, nameReads: &reads}, 3}
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Settled() || r.ChunksDone != 3 || r.Lost != 1 || reads != 0 {
		t.Fatalf("settled=%v chunks done=%d lost=%d name reads=%d", r.Settled(), r.ChunksDone, r.Lost, reads)
	}
	// The same batch once split: settled (queue empty, long ago), names
	// read.
	split := *rep
	split.Status = record.ReportSplit
	src.rep = &split
	r, err = Reconcile(context.Background(), src, "b")
	if err != nil || !r.Settled() || r.ChunksDone != -1 || reads != 1 {
		t.Fatalf("split: settled=%v chunks done=%d reads=%d %v", r.Settled(), r.ChunksDone, reads, err)
	}
}
