package record

import (
	"hash/fnv"
	"strconv"
)

// IndexShards is the number of partition key values of one batch in the
// results table's batch index. Every result carries the attribute
// batch_shard = BatchShard(batch, name), and the index is keyed on it, so
// that one batch's writes spread over IndexShards index keys instead of
// one: DynamoDB serves at most 1,000 write units a second to one partition
// key value, of a table or of a global secondary index, and an index that
// cannot absorb its writes throttles the table's writes ("Mitigating
// throttling: key range limit exceeded" and "Throttling in global
// secondary indexes", Amazon DynamoDB Developer Guide). With 32 shards a
// batch can be written at up to about 32,000 results a second before the
// index's keys bind. Readers of a batch query all IndexShards keys
// (ShardKeys).
//
// Changing it re-keys every result written after the change: results
// written before sit under the old shards. It is encoded here only.
const IndexShards = 32

// IndexShard is the shard of an op name: FNV-1a (32 bits) of the name,
// modulo IndexShards. It depends on the name only, so that a rewrite of a
// result (a redelivery, a batch split twice) keeps its index key.
func IndexShard(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % IndexShards)
}

// BatchShard is the index key of the result of op name in batch:
// "<batch id>#<shard>".
func BatchShard(batch, name string) string {
	return ShardKey(batch, IndexShard(name))
}

// ShardKey is the index key of shard k of batch: "<batch id>#<k>".
func ShardKey(batch string, k int) string {
	return batch + "#" + strconv.Itoa(k)
}

// ShardKeys are the IndexShards index keys of batch, shard 0 first.
func ShardKeys(batch string) []string {
	keys := make([]string, IndexShards)
	for k := range keys {
		keys[k] = ShardKey(batch, k)
	}
	return keys
}
