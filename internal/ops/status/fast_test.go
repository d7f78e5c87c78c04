package status

import (
	"context"
	"fmt"
	"testing"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
)

// tableSource is a fakeSource whose results live in the in-memory table
// and are read through its batch index, shard by shard, as on AWS.
type tableSource struct {
	fakeSource
	table *inmem.Table
}

func (s tableSource) Counts(ctx context.Context, batch string) (Counts, error) {
	ok, errs, err := s.table.CountBatch(ctx, batch)
	return Counts{OK: ok, Error: errs}, err
}

func (s tableSource) Results(ctx context.Context, batch string, fn func(string, record.Status) error) error {
	return s.table.QueryBatch(ctx, batch, fn)
}

// newTableSource stores a result of batch b for each of the first stored
// of n ops named op_000..., ok except every seventh (error), for a report
// of n+2 ops of which 2 were rejected.
func newTableSource(n, stored int) (tableSource, []string) {
	rep := &record.Report{Batch: "b", Stamp: "2", Status: record.ReportSplit, Totals: record.Totals{Ops: n + 2, Enqueued: n, Rejected: 2}}
	table := inmem.NewTable()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("op_%03d", i)
		if i < stored {
			st := record.StatusOK
			if i%7 == 0 {
				st = record.StatusError
			}
			table.Set(record.Result{Name: names[i], Status: st, Batch: "b", Stamp: "2"})
		}
	}
	return tableSource{fakeSource: fakeSource{rep: rep, names: names}, table: table}, names
}

// A batch whose every op is stored is accounted for by counting alone:
// one count query per shard, and no result named, no look at the DLQ, the
// ops queue, the batch object or the stored items. A DLQ copy of a stored
// op does not change the answer (it counts as stored on either path).
func TestFastPathCountsOnly(t *testing.T) {
	src, _ := newTableSource(100, 100)
	src.dlq = []string{"op_005"}
	var dlq, names, pending, stored int
	src.dlqReads, src.nameReads, src.pendingReads, src.storedReads = &dlq, &names, &pending, &stored
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	const want = "batch b: total=102 ok=85 error=15 rejected=2 superseded=0 dlq=0 lost=0"
	if r.Line() != want || !r.Settled() {
		t.Errorf("Line() = %q settled=%v, want %q settled", r.Line(), r.Settled(), want)
	}
	if q, c := src.table.IndexQueries.Load(), src.table.IndexCounts.Load(); q != 0 || c != record.IndexShards {
		t.Errorf("%d shard queries and %d shard counts, want 0 and %d", q, c, record.IndexShards)
	}
	if dlq+names+pending+stored != 0 {
		t.Errorf("looked at the DLQ %d, the batch object %d, the queue %d, stored items %d times; want none", dlq, names, pending, stored)
	}
}

// When the counts fall short, Reconcile falls back to naming the results,
// and the account is the name-by-name one: superseded, DLQ and lost ops
// are told apart, and Unnamed is set when the batch object is gone.
func TestFallbackWhenOpsAreMissing(t *testing.T) {
	src, names := newTableSource(100, 96)
	// op_096 now holds a newer upload's result, op_097 is in the DLQ,
	// op_098 and op_099 are lost.
	src.table.Set(record.Result{Name: names[96], Status: record.StatusOK, Batch: "b-new", Stamp: "3"})
	src.items = src.table.Items()
	src.dlq = []string{names[97]}
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	const want = "batch b: total=102 ok=82 error=14 rejected=2 superseded=1 dlq=1 lost=2"
	if r.Line() != want || !r.Settled() || r.Unnamed {
		t.Errorf("Line() = %q settled=%v unnamed=%v, want %q settled", r.Line(), r.Settled(), r.Unnamed, want)
	}
	if q, c := src.table.IndexQueries.Load(), src.table.IndexCounts.Load(); q != record.IndexShards || c != record.IndexShards {
		t.Errorf("%d shard queries and %d shard counts, want %d each", q, c, record.IndexShards)
	}
	// The object gone: the superseded op cannot be named and counts as lost.
	src.names = nil
	r, err = Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	const gone = "batch b: total=102 ok=82 error=14 rejected=2 superseded=0 dlq=1 lost=3"
	if r.Line() != gone || !r.Unnamed {
		t.Errorf("object gone: Line() = %q unnamed=%v, want %q unnamed", r.Line(), r.Unnamed, gone)
	}
}

// A running batch (ops still queued) with nothing of it in the DLQ is
// accounted for by counting too: its missing ops are in flight, and no
// name is read. With a message of it in the DLQ the names are read, so
// that the DLQ's names are told apart from the stored ones.
func TestRunningBatchCountsOnly(t *testing.T) {
	src, names := newTableSource(100, 60)
	src.pending = 40
	var objectReads int
	src.nameReads = &objectReads
	r, err := Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	const running = "batch b: total=102 ok=51 error=9 rejected=2 superseded=0 dlq=0 lost=40"
	if r.Line() != running || r.Settled() || r.Queued != 40 {
		t.Errorf("Line() = %q settled=%v queued=%d, want %q, not settled, 40 queued", r.Line(), r.Settled(), r.Queued, running)
	}
	if q := src.table.IndexQueries.Load(); q != 0 || objectReads != 0 {
		t.Errorf("%d shard queries, %d reads of the batch object; want none", q, objectReads)
	}
	src.dlq = []string{names[99], names[3]} // op_003 is stored: it counts once, as stored
	r, err = Reconcile(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	const withDLQ = "batch b: total=102 ok=51 error=9 rejected=2 superseded=0 dlq=1 lost=39"
	if r.Line() != withDLQ || src.table.IndexQueries.Load() != record.IndexShards || objectReads != 0 {
		t.Errorf("with a DLQ message: Line() = %q after %d shard queries and %d object reads, want %q after %d and none",
			r.Line(), src.table.IndexQueries.Load(), objectReads, withDLQ, record.IndexShards)
	}
}
