package naming

import (
	"fmt"
	"strings"
)

// PlanDir is the folder of the plan of the batch with this id, next to its
// report: batches/x/y.json@E -> reports/x/y.json.plan/E/. It holds
// plan.json and one done marker per finished chunk (ChunkDoneKey). A
// report's key always ends in a batch suffix and .json (.json.json,
// .csv.json, .jsonl.gz.json, ...), so none of these keys can be a report's.
func PlanDir(batchID string) string {
	key := KeyOfBatch(batchID)
	etag := strings.TrimPrefix(batchID[len(key):], "@")
	return ReportPrefix + strings.TrimPrefix(key, BatchPrefix) + ".plan/" + etag + "/"
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
