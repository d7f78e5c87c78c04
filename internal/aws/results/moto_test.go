package results_test

// The DynamoDB adapter against moto.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// 25 results written, read back by name and counted through the index; 26
// in one call is a permanent error.
func TestTableAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "results")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := results.New(dynamodb.NewFromConfig(cfg), res.Table, res.BatchIndex)

	var rs []record.Result
	for i := range 25 {
		v := record.Number(float64(i))
		r := record.Result{Name: fmt.Sprintf("r%02d", i), Op: "x", Status: record.StatusOK, Value: &v, Batch: "batch-1", ComputedAt: time.Now()}
		if i%5 == 0 {
			r.Status, r.Value, r.Error = record.StatusError, nil, "bad"
		}
		rs = append(rs, r)
	}
	un, err := table.WriteBatch(ctx, rs)
	if err != nil || len(un) != 0 {
		t.Fatalf("WriteBatch: %v %v", un, err)
	}
	if _, err := table.WriteBatch(ctx, append(rs, rs[0])); !retry.IsPermanent(err) {
		t.Fatalf("26 items: %v, want a permanent error", err)
	}
	all, err := table.Get(ctx, []string{"r01", "r05", "r01", "missing"})
	if err != nil || len(all) != 2 || all["r01"].Value.Num != 1 || all["r05"].Error != "bad" {
		t.Fatalf("Get: %+v %v", all, err)
	}
	counts, err := table.CountBatch(ctx, "batch-1")
	if err != nil || counts.OK != 20 || counts.Error != 5 {
		t.Fatalf("CountBatch: %+v %v", counts, err)
	}
}
