package record

import (
	"fmt"
	"testing"
)

// The shard of a name is stable (it is stored: a change would scatter a
// batch's rewritten results), within range, and spreads a batch's names
// over every shard evenly enough that no shard takes much more than its
// share of the writes.
func TestIndexShard(t *testing.T) {
	// Pinned values of FNV-1a 32 mod 32: a change of the hash fails here.
	for name, want := range map[string]int{"": 5, "a": 12, "op_0000": 31, "1_plus_1": 25} {
		if got := IndexShard(name); got != want {
			t.Errorf("IndexShard(%q) = %d, want %d", name, got, want)
		}
	}
	const n = 32000
	counts := make([]int, IndexShards)
	for i := range n {
		k := IndexShard(fmt.Sprintf("op_%07d", i))
		if k < 0 || k >= IndexShards {
			t.Fatalf("shard %d out of range", k)
		}
		counts[k]++
	}
	for k, c := range counts {
		if share := n / IndexShards; c < share*8/10 || c > share*12/10 {
			t.Errorf("shard %d holds %d of %d names, want within 20%% of %d", k, c, n, share)
		}
	}
}

func TestShardKeys(t *testing.T) {
	keys := ShardKeys("batches/a.json@e1")
	if len(keys) != IndexShards || keys[0] != "batches/a.json@e1#0" || keys[31] != "batches/a.json@e1#31" {
		t.Fatalf("ShardKeys = %q", keys)
	}
	if got, want := BatchShard("b", "a"), "b#12"; got != want {
		t.Errorf("BatchShard = %q, want %q", got, want)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
	if k := BatchShard("batches/a.json@e1", "x"); !seen[k] {
		t.Errorf("BatchShard %q is not among the batch's keys", k)
	}
}
