package batches

import (
	"context"
	"log/slog"
	"strings"

	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Reports is the splitter's object store with the report mirror: a Put of
// an upload's own report (naming.BatchReportKey) also writes it into the
// upload's item of the batches table, after the object, so that the
// splitter's domain knows nothing of the table. Every other call goes to
// the store unchanged.
//
// The mirror is best effort. The report object is the source of truth:
// memo status reads the report from S3 (workspace.Client.Report) and only
// the counters from the table; memo batches shows the last state mirrored
// ("splitting" if only the final report's copy failed, "counting" if none
// was made) and says it can lag. So a mirror that fails after its retries
// is logged and counted (Failed), and the Put succeeds: failing it would
// fail the split after its report was written, and Lambda would retry the
// whole asynchronous invocation for a copy.
type Reports struct {
	splitter.Objects
	Table *Table
	// Logger takes a warning for each mirror that failed; nil for none.
	Logger *slog.Logger
	// Failed is called once for each mirror that failed (the splitter's
	// wiring counts it as the ReportMirrorFailures metric); nil for none.
	Failed func()
}

var _ splitter.Objects = Reports{}

// Put implements splitter.Objects.
func (r Reports) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := r.Objects.Put(ctx, bucket, key, body, contentType); err != nil {
		return err
	}
	if !strings.HasPrefix(key, naming.ReportPrefix) || !strings.HasSuffix(key, "/report.json") {
		return nil
	}
	rep, err := record.DecodeReport(body)
	if err != nil || rep.Batch == "" || naming.BatchReportKey(rep.Batch) != key {
		return nil // not an upload's own report
	}
	if err := r.Table.Mirror(ctx, rep); err != nil {
		if r.Logger != nil {
			r.Logger.WarnContext(ctx, "report mirror failed; the report object stands", "batch", rep.Batch, "state", string(rep.Status), "error", err.Error())
		}
		if r.Failed != nil {
			r.Failed()
		}
	}
	return nil
}
