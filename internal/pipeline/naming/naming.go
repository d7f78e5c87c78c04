// Package naming is the one rule that names memo's resources:
// memo-<workspace>-<role>. Terraform (terraform/modules/pipeline/main.tf,
// local.prefix) applies the same rule; test/policy checks that they agree.
package naming

import (
	"fmt"
	"regexp"
	"strings"
)

// Prefix starts every resource name.
const Prefix = "memo"

// Folders inside the batch bucket.
const (
	BatchPrefix  = "batches/"
	ReportPrefix = "reports/"
)

// Names are the resources of one workspace.
type Names struct {
	Workspace string
	Bucket    string // memo-<ws>-batches-<account>
	Table     string // memo-<ws>-results
	// Batches is the batches table: one item per upload, its state (the
	// splitter's report mirrored) and the counters compute adds.
	Batches string // memo-<ws>-batches
	Queue   string // memo-<ws>-ops
	DLQ     string // memo-<ws>-ops-dlq
	// ChunkQueue carries the chunk tasks of planned batches to the
	// splitter; ChunkDLQ takes the ones that failed maxReceiveCount times.
	ChunkQueue string // memo-<ws>-chunks
	ChunkDLQ   string // memo-<ws>-chunks-dlq
	// SplitFailures is the splitter's on-failure destination: a record of
	// each S3 event whose split failed after Lambda's retries.
	SplitFailures string // memo-<ws>-split-failures
	Splitter      string // memo-<ws>-splitter
	Compute       string // memo-<ws>-compute
}

var workspaceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// ValidWorkspace reports whether ws can name resources: 1-20 characters of
// lowercase letters, digits and '-', starting with a letter or digit (S3
// bucket names allow nothing else, and stay under 63 characters).
func ValidWorkspace(ws string) error {
	if !workspaceRE.MatchString(ws) {
		return fmt.Errorf("workspace %q: use 1-20 lowercase letters, digits or '-', starting with a letter or digit", ws)
	}
	return nil
}

// For returns the names of workspace ws in the given AWS account.
func For(ws, account string) Names {
	p := Prefix + "-" + ws + "-"
	return Names{
		Workspace:     ws,
		Bucket:        p + "batches-" + account,
		Table:         p + "results",
		Batches:       p + "batches",
		Queue:         p + "ops",
		DLQ:           p + "ops-dlq",
		ChunkQueue:    p + "chunks",
		ChunkDLQ:      p + "chunks-dlq",
		SplitFailures: p + "split-failures",
		Splitter:      p + "splitter",
		Compute:       p + "compute",
	}
}

// ReportKey is where the splitter writes the report of the last split of
// the batch key: batches/x/y.json -> reports/x/y.json.json. Two uploads of
// one key share it, so it is for people browsing the bucket; memo reads a
// batch's own report at BatchReportKey.
func ReportKey(batchKey string) string {
	return ReportPrefix + strings.TrimPrefix(batchKey, BatchPrefix) + ".json"
}

// MaxBatchKeyBytes is the longest batch key memo accepts. S3 keys are at
// most 1,024 bytes of UTF-8 ("Naming Amazon S3 objects", Amazon S3 User
// Guide), and the keys memo derives from a batch key are longer: the
// longest, a chunk's done marker, is reports/<key without batches/>.plan/
// <tag>/done/<8 digits>, 20 bytes and the tag more. Tags are version ids
// (32 bytes on AWS, 36 on moto) or ETags (32 hex, and -N for multipart):
// MaxTagBytes leaves room for them.
const (
	MaxTagBytes      = 64
	MaxBatchKeyBytes = 1024 - 20 - MaxTagBytes
)

// ValidBatchKey says why a batch key cannot be processed, or nil.
func ValidBatchKey(key string) error {
	if len(key) > MaxBatchKeyBytes {
		return fmt.Errorf("key of %d bytes: a batch key is at most %d bytes (S3's 1,024 less what memo adds for its report, plan and markers)", len(key), MaxBatchKeyBytes)
	}
	return nil
}

// BatchReportKey is the report of one upload, next to its plan: it is
// never overwritten by another upload's, so an older upload's account
// stays readable.
func BatchReportKey(batchID string) string { return PlanDir(batchID) + "report.json" }

// BatchID identifies one upload: its key and a tag that names that upload
// alone, UploadTag. Two uploads of identical content are two batches.
func BatchID(key, tag string) string {
	return key + "@" + strings.Trim(tag, `"`)
}

// UploadTag is the tag of one upload in its batch id: the object's
// versionId, which S3 gives every PutObject answer and every event of a
// versioned bucket ("Event message structure": "versionId ... if bucket
// is versioning-enabled, otherwise null"); memo's bucket is versioned.
// Only on an unversioned bucket (no version, or "null") is it the ETag,
// which names the content, not the upload.
func UploadTag(versionID, etag string) string {
	if versionID != "" && versionID != "null" {
		return versionID
	}
	return strings.Trim(etag, `"`)
}

// KeyOfBatch returns the object key part of a batch id.
func KeyOfBatch(id string) string {
	if i := strings.LastIndex(id, "@"); i >= 0 {
		return id[:i]
	}
	return id
}
