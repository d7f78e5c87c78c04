package batches_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// mirrorDown fails every UpdateItem, as a throttled or unreachable
// batches table does.
type mirrorDown struct {
	batches.API
	calls int
}

func (f *mirrorDown) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.calls++
	return nil, errors.New("InternalServerError (stand-in)")
}

// The report object is the source of truth and its copy in the batches
// table best effort: a mirror that fails after its retries is logged and
// counted, and the splitter's Put of the report succeeds, so that the split
// is not failed (and retried whole by Lambda) for a copy.
func TestReportMirrorFailureDoesNotFailThePut(t *testing.T) {
	ctx := context.Background()
	api := &mirrorDown{}
	table := batches.New(api, "memo-test-batches")
	table.Retry = retry.Policy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	objs := inmem.NewObjects()
	var logs bytes.Buffer
	failed := 0
	store := batches.Reports{Objects: objs, Table: table,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Failed: func() { failed++ }}

	id := naming.BatchID("batches/a.jsonl", "v1")
	rep := record.Report{Batch: id, Key: "batches/a.jsonl", Status: record.ReportSplit}
	rep.Totals.Ops = 3
	body, err := rep.Encode()
	if err != nil {
		t.Fatal(err)
	}
	key := naming.BatchReportKey(id)
	if err := store.Put(ctx, "bucket", key, body, "application/json"); err != nil {
		t.Fatalf("Put of the report = %v, want nil (the mirror is best effort)", err)
	}
	if api.calls != 3 {
		t.Errorf("mirror attempts = %d, want 3 (memo's retry policy)", api.calls)
	}
	if failed != 1 {
		t.Errorf("Failed called %d times, want 1", failed)
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), id) {
		t.Errorf("log = %q, want a warning naming the batch", logs.String())
	}
	got, err := objs.Get(ctx, "bucket", key)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("the report object = %q, %v; want it stored", got, err)
	}

	// A failed object write still fails the Put: the object is the truth.
	objs.FailPut = func(string, string) error { return errors.New("S3 down (stand-in)") }
	if err := store.Put(ctx, "bucket", key, body, "application/json"); err == nil {
		t.Error("Put with the object write failing = nil, want its error")
	}
}
