package naming

import "testing"

func TestFor(t *testing.T) {
	n := For("dev", "123456789012")
	want := Names{Workspace: "dev", Bucket: "memo-dev-batches-123456789012", Table: "memo-dev-results",
		Queue: "memo-dev-ops", DLQ: "memo-dev-ops-dlq", ChunkQueue: "memo-dev-chunks", ChunkDLQ: "memo-dev-chunks-dlq", SplitFailures: "memo-dev-split-failures", Splitter: "memo-dev-splitter", Compute: "memo-dev-compute", BatchIndex: "batch-shard"}
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
