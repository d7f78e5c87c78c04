package results_test

// The DynamoDB adapter against moto.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
)

// 25 results written with conditional puts and read back by name; the newest-upload condition as moto evaluates it,
// the item that refused a write (ALL_OLD) telling a redelivery of the same
// upload from a newer upload's result.
func TestTableAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "results")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := results.New(dynamodb.NewFromConfig(cfg), res.Table)

	var rs []record.Result
	for i := range 25 {
		v := record.Number(float64(i))
		r := record.Result{Name: fmt.Sprintf("r%02d", i), Op: "x", Status: record.StatusOK, Value: &v, Batch: "batch-1", ComputedAt: time.Now()}
		if i%5 == 0 {
			r.Status, r.Value, r.Error = record.StatusError, nil, "bad"
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if err := table.Put(ctx, r); err != nil {
			t.Fatalf("Put %s: %v", r.Name, err)
		}
	}
	// The condition, as moto evaluates it: a newer upload's result stands
	// against an older one's; the same upload is already stored (a redelivery).
	z := rs[1]
	z.Name = "z"
	if err := table.Put(ctx, z); err != nil {
		t.Fatal(err)
	}
	newer := z
	newer.Batch, newer.Stamp = "batch-2", "2"
	if err := table.Put(ctx, newer); err != nil {
		t.Fatalf("newer stamp over an unstamped item: %v", err)
	}
	older := z
	older.Batch, older.Stamp = "batch-0", "1"
	if err := table.Put(ctx, older); !errors.Is(err, compute.ErrSuperseded) {
		t.Fatalf("older stamp over a newer one: %v, want ErrSuperseded", err)
	}
	if err := table.Put(ctx, newer); !errors.Is(err, compute.ErrAlreadyStored) {
		t.Fatalf("the same upload again: %v, want ErrAlreadyStored", err)
	}
	if got, err := table.Get(ctx, []string{"z"}); err != nil || got["z"].Batch != "batch-2" || got["z"].Stamp != "2" {
		t.Fatalf("z = %+v %v", got["z"], err)
	}
	all, err := table.Get(ctx, []string{"r01", "r05", "r01", "missing"})
	if err != nil || len(all) != 2 || all["r01"].Value.Num != 1 || all["r05"].Error != "bad" {
		t.Fatalf("Get: %+v %v", all, err)
	}
}
