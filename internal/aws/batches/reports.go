package batches

import (
	"context"
	"fmt"
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
type Reports struct {
	splitter.Objects
	Table *Table
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
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
