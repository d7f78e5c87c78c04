package results_test

// The batch index against moto: results spread over the shard keys, read
// back by name and counted with the Select COUNT queries.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/record"
)

func TestBatchIndexAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "index")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := dynamodb.NewFromConfig(cfg)
	table := results.New(client, res.Table, res.BatchIndex)

	// 150 results of batch b (every fourth an error) and 20 of batch c.
	want := map[string]record.Status{}
	put := func(name, batch string, st record.Status) {
		r := record.Result{Name: name, Op: "1", Status: st, Batch: batch, Stamp: "1", ComputedAt: time.Now()}
		if st == record.StatusOK {
			v := record.Number(1)
			r.Value = &v
		} else {
			r.Error = "bad"
		}
		if err := table.Put(ctx, r); err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
	}
	for i := range 150 {
		st := record.StatusOK
		if i%4 == 0 {
			st = record.StatusError
		}
		name := fmt.Sprintf("b%03d", i)
		put(name, "b", st)
		want[name] = st
	}
	for i := range 20 {
		put(fmt.Sprintf("c%03d", i), "c", record.StatusOK)
	}

	// The item carries its shard key.
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(res.Table), Key: map[string]types.AttributeValue{results.AttrName: &types.AttributeValueMemberS{Value: "b007"}}})
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := got.Item[results.AttrBatchShard].(*types.AttributeValueMemberS); k == nil || k.Value != record.BatchShard("b", "b007") {
		t.Fatalf("batch_shard of b007 = %v, want %q", got.Item[results.AttrBatchShard], record.BatchShard("b", "b007"))
	}

	counts, err := table.CountBatch(ctx, "b")
	if err != nil || counts.OK != 112 || counts.Error != 38 {
		t.Fatalf("CountBatch(b) = %+v, %v; want 112 ok, 38 error", counts, err)
	}
	if counts, err := table.CountBatch(ctx, "c"); err != nil || counts.OK != 20 || counts.Error != 0 {
		t.Fatalf("CountBatch(c) = %+v, %v; want 20 ok", counts, err)
	}
	seen := map[string]record.Status{}
	err = table.QueryBatch(ctx, "b", func(name string, st record.Status) error {
		if _, dup := seen[name]; dup {
			t.Errorf("%s read twice", name)
		}
		seen[name] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("QueryBatch(b) read other results than b's (-want +got):\n%s", diff)
	}

	// The count query itself, paged small: Count (after the filter) and
	// ScannedCount (before it) are per page and add up over the pages, and
	// the results of b sit under more than one shard key.
	used, ok, scanned, pages := 0, 0, 0, 0
	for _, key := range record.ShardKeys("b") {
		in := results.CountInput(res.Table, res.BatchIndex, key)
		in.Limit = aws.Int32(3)
		p := dynamodb.NewQueryPaginator(client, in)
		n := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if page.Count > page.ScannedCount || page.ScannedCount > 3 || len(page.Items) != 0 {
				t.Fatalf("page of %s: count %d scanned %d items %d", key, page.Count, page.ScannedCount, len(page.Items))
			}
			ok, scanned, n = ok+int(page.Count), scanned+int(page.ScannedCount), n+int(page.ScannedCount)
			pages++
		}
		if n > 0 {
			used++
		}
	}
	if ok != 112 || scanned != 150 || pages <= record.IndexShards || used < record.IndexShards/2 {
		t.Fatalf("paged counts: ok=%d scanned=%d in %d pages over %d shard keys", ok, scanned, pages, used)
	}
}
