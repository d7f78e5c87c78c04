package naming

import "testing"

func TestPlanKeys(t *testing.T) {
	id := BatchID("batches/x/y.json", `"abc"`)
	if got := PlanKey(id); got != "reports/x/y.json.plan/abc/plan.json" {
		t.Fatalf("PlanKey = %s", got)
	}
	if got := ChunkDoneKey(id, 42); got != "reports/x/y.json.plan/abc/done/00000042" {
		t.Fatalf("ChunkDoneKey = %s", got)
	}
	// A batch id with an '@' in its key: the ETag is after the last one.
	if got := PlanDir("batches/a@b.jsonl@e1"); got != "reports/a@b.jsonl.plan/e1/" {
		t.Fatalf("PlanDir = %s", got)
	}
}
