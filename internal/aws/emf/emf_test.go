package emf

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/splitter"
)

func TestSplitRecordIsValidEMF(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "dev", "splitter")
	r.now = func() time.Time { return time.UnixMilli(1700000000000) }
	r.Split(splitter.Counts{Enqueued: 3, Rejected: 2, SendCalls: 1})

	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON line: %v: %s", err, buf.String())
	}
	if doc[OpsEnqueued] != 3.0 || doc[OpsRejected] != 2.0 || doc["workspace"] != "dev" {
		t.Fatalf("wrong values: %v", doc)
	}
	meta := doc["_aws"].(map[string]any)
	if meta["Timestamp"] != 1700000000000.0 {
		t.Fatalf("timestamp %v", meta["Timestamp"])
	}
	cwm := meta["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cwm["Namespace"] != Namespace {
		t.Fatalf("namespace %v", cwm["Namespace"])
	}
	names := map[string]bool{}
	for _, m := range cwm["Metrics"].([]any) {
		names[m.(map[string]any)["Name"].(string)] = true
	}
	for _, want := range []string{OpsEnqueued, OpsRejected, Calls, Retries} {
		if !names[want] {
			t.Errorf("metric %s not declared: %v", want, names)
		}
		if _, ok := doc[want]; !ok {
			t.Errorf("metric %s declared without a value", want)
		}
	}
}
