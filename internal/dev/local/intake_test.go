package local_test

// Durable intake on the twin: a batch whose split fails through all of
// Lambda's asynchronous retries is recorded in the split-failures queue
// (its report says failed), and is resumed from the record without
// re-uploading.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// brokenReads fails every read of a batch while broken is set, as an S3
// outage would.
type brokenReads struct {
	*objects.Store
	broken atomic.Bool
}

func (b *brokenReads) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	if b.broken.Load() {
		return nil, errors.New("InternalError: S3 is having a bad day")
	}
	return b.Store.Open(ctx, ref)
}

func TestTwinFailedSplitIsRecordedAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	objs := &brokenReads{}
	objs.broken.Store(true)
	twin := localtest.StartTwin(t, local.Options{
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true})
			if err != nil {
				return nil, nil, err
			}
			client := sqs.NewFromConfig(cfg)
			objs.Store = objects.New(awsconfig.S3(cfg))
			svc := splitter.New(objs, opsqueue.NewSender(client, p.QueueURL), splitter.Config{
				Chunks: opsqueue.NewChunkSender(client, p.ChunkQueueURL)})
			comp := app.NewCompute(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace}, slog.New(slog.DiscardHandler), nil)
			return local.NewInProcess(svc.Invoke), local.NewInProcess(comp.Handle), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	id := upload(t, ctx, c, writeBatch(t, "failing.jsonl", 20))

	// The three invocations fail; the event is recorded, not dropped.
	var rec struct {
		RequestContext struct{ Condition string }    `json:"requestContext"`
		RequestPayload json.RawMessage               `json:"requestPayload"`
		Response       struct{ ErrorMessage string } `json:"responsePayload"`
	}
	eventually(t, 90*time.Second, "a record in the split-failures queue", func() (bool, string) {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(twin.SplitFailuresURL), WaitTimeSeconds: 1})
		if err != nil || len(out.Messages) == 0 {
			return false, "none yet"
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &rec); err != nil {
			t.Fatalf("record: %v", err)
		}
		return true, ""
	})
	if rec.RequestContext.Condition != "RetriesExhausted" || len(rec.RequestPayload) == 0 {
		t.Fatalf("record %+v", rec)
	}
	// memo status sees the batch as failed.
	rep, found, err := c.Report(ctx, id)
	if err != nil || !found || rep.Status != record.ReportFailed {
		t.Fatalf("report %+v found=%v %v", rep, found, err)
	}

	// Resume: S3 is back; the record's event goes to the splitter again.
	objs.broken.Store(false)
	if _, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(twin.NotifyURL), MessageBody: aws.String(string(rec.RequestPayload))}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !r.Settled() || r.Lost != 0 || r.OK != 20 || r.Report.Status != record.ReportSplit {
		t.Fatalf("after resume: %v %s", err, r.Line())
	}
	checkValues(t, ctx, c, id, 20)
}
