package naming

import (
	"strings"
	"testing"
)

func TestFor(t *testing.T) {
	n := For("dev", "123456789012")
	want := Names{Workspace: "dev", Bucket: "memo-dev-batches-123456789012", Table: "memo-dev-results",
		Queue: "memo-dev-ops", DLQ: "memo-dev-ops-dlq", ChunkQueue: "memo-dev-chunks", ChunkDLQ: "memo-dev-chunks-dlq", SplitFailures: "memo-dev-split-failures", Splitter: "memo-dev-splitter", Compute: "memo-dev-compute", Batches: "memo-dev-batches"}
	if n != want {
		t.Fatalf("For = %+v, want %+v", n, want)
	}
}

func TestValidWorkspace(t *testing.T) {
	for ws, ok := range map[string]bool{
		"dev": true, "prod": true, "a": true, "pr-123": true, "0abc": true, "abcdefghijklmnopqrst": true,
		"": false, "Dev": false, "-dev": false, "dev_1": false, "dev.1": false, "abcdefghijklmnopqrstu": false, "dév": false,
	} {
		if err := ValidWorkspace(ws); (err == nil) != ok {
			t.Errorf("ValidWorkspace(%q) = %v, want ok=%v", ws, err, ok)
		}
	}
}

func TestKeysAndIDs(t *testing.T) {
	if got := ReportKey("batches/x/my batch.json"); got != "reports/x/my batch.json.json" {
		t.Errorf("ReportKey = %q", got)
	}
	id := BatchID("batches/a@b.json", `"abc-2"`)
	if id != "batches/a@b.json@abc-2" {
		t.Errorf("BatchID = %q", id)
	}
	if KeyOfBatch(id) != "batches/a@b.json" {
		t.Errorf("KeyOfBatch(%q) = %q", id, KeyOfBatch(id))
	}
}

// Issue 18, point 8: every key memo derives from the longest batch key it
// accepts, with the longest tag, fits S3's 1,024 bytes; one byte more is
// refused at the door with a reason.
func TestLongestBatchKeyFitsS3(t *testing.T) {
	key := BatchPrefix + strings.Repeat("k", MaxBatchKeyBytes-len(BatchPrefix)-len(".json")) + ".json"
	if err := ValidBatchKey(key); err != nil {
		t.Fatal(err)
	}
	id := BatchID(key, strings.Repeat("v", MaxTagBytes))
	for _, k := range []string{key, ReportKey(key), BatchReportKey(id), PlanKey(id), ChunkDoneKey(id, 99_999_999)} {
		if len(k) > 1024 {
			t.Errorf("derived key of %d bytes: %.40s...", len(k), k)
		}
	}
	if err := ValidBatchKey(key + "x"); err == nil || !strings.Contains(err.Error(), "at most 940 bytes") {
		t.Errorf("a key one byte too long: %v", err)
	}
}
