package results_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/record"
)

// A parallel scan on moto (which implements Segment and TotalSegments):
// every item once, across the segments, with the projected attributes
// only (name, batch, stamp, status) and units for every page; an error
// from the page function stops the scan and is returned. Size answers
// DescribeTable's figure (moto: the item count, zero bytes).
func TestScanPagesAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "results-scan")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := results.New(dynamodb.NewFromConfig(cfg), res.Table)

	want := map[string]record.Result{}
	for i := range 60 {
		v := record.Number(float64(i))
		r := record.Result{Name: fmt.Sprintf("s%02d", i), Op: "1+1", Status: record.StatusOK, Value: &v,
			Batch: "b@1", Stamp: record.NewStamp(time.Unix(1767323045, 0), "0A", "b@1"), ComputedAt: time.Now()}
		if i%7 == 0 {
			r.Status, r.Value, r.Error = record.StatusError, nil, "bad"
		}
		if err := table.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		want[r.Name] = record.Result{Name: r.Name, Status: r.Status, Batch: r.Batch, Stamp: r.Stamp}
	}
	for _, segments := range []int{1, 4} {
		got := map[string]record.Result{}
		pages, units := 0, 0.0
		err := table.ScanPages(ctx, results.ScanOptions{Segments: segments}, func(items []record.Result, u float64) error {
			pages++
			units += u
			for _, it := range items {
				if _, dup := got[it.Name]; dup {
					return fmt.Errorf("%s read twice", it.Name)
				}
				got[it.Name] = it
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d segments (-want +got):\n%s", segments, diff)
		}
		if pages < segments || units <= 0 {
			t.Errorf("%d segments: %d pages, %v units", segments, pages, units)
		}
	}
	stop := errors.New("stop")
	if err := table.ScanPages(ctx, results.ScanOptions{Segments: 4}, func([]record.Result, float64) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ScanPages with a failing page = %v, want %v", err, stop)
	}
	// Whole items, for memo results --batch.
	var whole []record.Result
	if err := table.ScanPages(ctx, results.ScanOptions{Segments: 2, Full: true, Consistent: true}, func(items []record.Result, _ float64) error { whole = append(whole, items...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(whole) != 60 || whole[0].Op != "1+1" || whole[0].ComputedAt.IsZero() {
		t.Errorf("whole items: %d, first %+v", len(whole), whole[0])
	}
	bytes, items, err := table.Size(ctx)
	if err != nil || items != 60 || bytes < 0 {
		t.Errorf("Size = %d bytes, %d items, %v", bytes, items, err)
	}
}
