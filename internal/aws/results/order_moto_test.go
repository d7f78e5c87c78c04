package results_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
)

// The write condition is record.MayWrite, on moto and in the in-memory
// fake alike, for every pair of these uploads (issue 18, points 3 and 10;
// issue 22): one upload's redelivery does not write again and answers
// compute.ErrAlreadyStored, any other refusal compute.ErrSuperseded; an
// older upload's redelivered
// message never rewinds a newer upload's stamp, even when both uploads
// carry identical content; one key's uploads are ordered by sequencer, keys
// by eventTime.
func TestWriteConditionIsMayWrite(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "order")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	table := results.New(dynamodb.NewFromConfig(cfg), res.Table)
	fake := inmem.NewTable()

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stamps := []record.Stamp{
		"",
		// Upload 1 and 3 of batches/k.json have identical content.
		record.NewStamp(t0, "0A", "batches/k.json@v1"),
		record.NewStamp(t0.Add(time.Second), "0B", "batches/k.json@v2"),
		record.NewStamp(t0.Add(2*time.Second), "0C", "batches/k.json@v3"),
		// Accepted after v3 (greater sequencer) though its eventTime is
		// earlier: S3 orders one key's events by sequencer only.
		record.NewStamp(t0.Add(time.Second), "0D", "batches/k.json@v4"),
		record.NewStamp(t0.Add(1500*time.Millisecond), "FF", "batches/other.json@w1"),
	}
	// The batch id each upload's results carry: 1 and 3 share one, as
	// key@ETag named them before a batch was one upload, so the condition
	// must not let "same batch" decide.
	batches := []string{"legacy", "batches/k.json@e1", "batches/k.json@e2", "batches/k.json@e1", "batches/k.json@e4", "batches/other.json@e5"}
	type outcome struct{ written, already, superseded bool }
	put := func(w compute.ResultWriter, name string, s record.Stamp) (outcome, error) {
		v := record.Number(1)
		batch := batches[slices.Index(stamps, s)]
		err := w.Put(ctx, record.Result{Name: name, Op: "1", Status: record.StatusOK, Value: &v, Batch: batch, Stamp: s, ComputedAt: t0})
		switch {
		case errors.Is(err, compute.ErrAlreadyStored):
			return outcome{already: true}, nil
		case errors.Is(err, compute.ErrSuperseded):
			return outcome{superseded: true}, nil
		}
		return outcome{written: err == nil}, err
	}
	for i, old := range stamps {
		for j, s := range stamps {
			name := fmt.Sprintf("n%d-%d", i, j)
			// The same upload is refused as already stored; otherwise
			// record.MayReplace (which lets the same upload through) says.
			want := outcome{written: record.MayReplace(s, old) && s != old, already: s == old}
			want.superseded = !want.written && !want.already
			for _, w := range []struct {
				what string
				w    compute.ResultWriter
			}{{"moto", table}, {"inmem", fake}} {
				if o, err := put(w.w, name, old); !o.written || err != nil {
					t.Fatalf("%s: first write of %s: %v", w.what, name, err)
				}
				got, err := put(w.w, name, s)
				if err != nil {
					t.Fatalf("%s: %v", w.what, err)
				}
				if got != want {
					t.Errorf("%s: a result stamped %q over one stamped %q: %+v, want %+v", w.what, s, old, got, want)
				}
			}
		}
	}
	if !record.MayReplace(stamps[3], stamps[1]) || record.MayReplace(stamps[1], stamps[3]) || !record.MayReplace(stamps[4], stamps[3]) {
		t.Fatal("the stamps above do not order as the test says")
	}
}
