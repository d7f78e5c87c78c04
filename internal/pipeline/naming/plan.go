package naming

import (
	"fmt"
	"strings"
)

// PlanDir is the folder of the upload with this batch id:
// batches/x/y.json@V -> reports/x/y.json.plan/V/. It holds plan.json, the
// upload's report (BatchReportKey) and one done marker per finished chunk
// (ChunkDoneKey). A key's report (ReportKey) always ends in a batch suffix
// and .json (.json.json, .csv.json, .jsonl.gz.json, ...), so none of these
// keys can be one.
func PlanDir(batchID string) string {
	key := KeyOfBatch(batchID)
	tag := strings.TrimPrefix(batchID[len(key):], "@")
	return ReportPrefix + strings.TrimPrefix(key, BatchPrefix) + ".plan/" + tag + "/"
}

// PlanKey is where the splitter stores the plan of a batch.
func PlanKey(batchID string) string { return PlanDir(batchID) + "plan.json" }

// ChunkDonePrefix is the folder of the done markers of a batch's chunks.
func ChunkDonePrefix(batchID string) string { return PlanDir(batchID) + "done/" }

// ChunkDoneKey is the done marker of chunk n: its number in 8 digits, so
// that the markers list in chunk order.
func ChunkDoneKey(batchID string, n int) string {
	return fmt.Sprintf("%s%08d", ChunkDonePrefix(batchID), n)
}
