package batches_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// The batches table on moto: compute's counters are ADDed, the report is
// mirrored by the object store's Put of an upload's own report, and
// neither writer clobbers the other's attributes, in either order.
func TestCountersAndReportMirror(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "batches")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := batches.New(dynamodb.NewFromConfig(cfg), res.BatchesTable)
	objs := inmem.NewObjects()
	store := batches.Reports{Objects: objs, Table: table}

	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	a := naming.BatchID("batches/a.json", "v1")
	b := naming.BatchID("batches/b.json", "v1")
	stampA := record.NewStamp(t0, "0A", a)
	stampB := record.NewStamp(t0.Add(time.Minute), "0B", b)

	// Compute counts before the report exists (a batch split in one pass
	// writes its report after its ops were sent).
	if err := table.Add(ctx, []compute.Tally{
		{Batch: a, Stamp: stampA, OK: 3, Error: 1},
		{Batch: a, Stamp: stampA, OK: 2, Superseded: 1},
		{Batch: b, Stamp: stampB},
	}); err != nil {
		t.Fatal(err)
	}
	put := func(rep record.Report, key string) {
		t.Helper()
		body, err := rep.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, "bucket", key, body, "application/json"); err != nil {
			t.Fatal(err)
		}
		if _, ok := objs.Object("bucket", key); !ok {
			t.Fatalf("the report %s was not stored", key)
		}
	}
	rep := record.Report{Batch: a, Key: "batches/a.json", Stamp: stampA, Status: record.ReportSplitting, Chunks: 2,
		Totals: record.Totals{Ops: 10, Enqueued: 9, Rejected: 1}, StartedAt: t0, FinishedAt: t0.Add(time.Second)}
	put(rep, naming.BatchReportKey(a))
	// The key's copy of the report, for people browsing, is not mirrored
	// (the upload's own one is).
	put(record.Report{Batch: a, Key: "batches/a.json", Status: record.ReportFailed}, naming.ReportKey("batches/a.json"))
	if err := table.Add(ctx, []compute.Tally{{Batch: a, Stamp: stampA, OK: 1}}); err != nil {
		t.Fatal(err)
	}
	rep.Status, rep.FinishedAt = record.ReportSplit, t0.Add(2*time.Second)
	put(rep, naming.BatchReportKey(a))

	got, found, err := table.Get(ctx, a)
	if err != nil || !found {
		t.Fatalf("Get %s: found=%v %v", a, found, err)
	}
	want := batches.Item{Batch: a, Key: "batches/a.json", Stamp: stampA, State: record.ReportSplit, Ops: 10, Enqueued: 9, Rejected: 1, Chunks: 2,
		Started: t0, Updated: t0.Add(2 * time.Second), OK: 6, Error: 1, Superseded: 1, Counted: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch a (-want +got):\n%s", diff)
	}
	// A tally of nothing writes nothing: b has no item.
	if _, found, err := table.Get(ctx, b); err != nil || found {
		t.Errorf("batch b: found=%v %v, want no item", found, err)
	}
	// A newer upload, reported and not counted yet, lists first.
	put(record.Report{Batch: b, Key: "batches/b.json", Stamp: stampB, Status: record.ReportRejected, Error: "not JSON",
		Totals: record.Totals{Ops: 1, Rejected: 1}, StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(time.Minute)}, naming.BatchReportKey(b))
	list, err := table.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range list {
		order = append(order, it.Batch+" "+string(it.State)+" "+it.Reason)
	}
	if diff := cmp.Diff([]string{b + " rejected not JSON", a + " split "}, order); diff != "" {
		t.Errorf("List, newest first (-want +got):\n%s", diff)
	}
	if list[0].Counted {
		t.Errorf("batch b counted: %+v", list[0])
	}
}
