package inmem

import (
	"context"
	"sort"

	"github.com/memohq/memo/internal/pipeline/record"
)

// The batch index of the in-memory table, read as the DynamoDB adapter
// reads it (internal/aws/results/index.go): keyed on record.BatchShard,
// one query per shard key of the batch (record.ShardKeys), either naming
// the results or only counting them.

// shard returns the names and statuses of the items whose index key is
// key, in name order (as a read would page them).
func (t *Table) shard(key string) []record.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []record.Result
	for _, it := range t.items {
		if record.BatchShard(it.Batch, it.Name) == key {
			out = append(out, record.Result{Name: it.Name, Status: it.Status})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// QueryBatch calls fn for every result of batch, shard by shard, and
// counts one IndexQueries per shard read.
func (t *Table) QueryBatch(ctx context.Context, batch string, fn func(name string, st record.Status) error) error {
	for _, key := range record.ShardKeys(batch) {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.IndexQueries.Add(1)
		for _, it := range t.shard(key) {
			if err := fn(it.Name, it.Status); err != nil {
				return err
			}
		}
	}
	return nil
}

// CountBatch counts the results of batch by status, shard by shard, as
// the adapter's Select COUNT queries do, and counts one IndexCounts per
// shard counted.
func (t *Table) CountBatch(ctx context.Context, batch string) (ok, errs int, err error) {
	for _, key := range record.ShardKeys(batch) {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		t.IndexCounts.Add(1)
		for _, it := range t.shard(key) {
			if it.Status == record.StatusOK {
				ok++
			} else {
				errs++
			}
		}
	}
	return ok, errs, nil
}
