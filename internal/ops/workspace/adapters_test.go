package workspace_test

// Integration tests of the S3, SQS and DynamoDB adapters against moto.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

func provisioned(t *testing.T) (*workspace.Client, aws.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	ctx := context.Background()
	m, err := local.StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: m.URL, Region: "us-east-1", StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.Provision(ctx, cfg, local.Settings{Workspace: "adapters"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Provision(ctx, cfg, local.Settings{Workspace: "adapters"}); err != nil {
		t.Fatalf("Provision is not idempotent: %v", err)
	}
	return workspace.New(cfg, p.Resources), cfg
}

func TestAdaptersAgainstMoto(t *testing.T) {
	c, _ := provisioned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// S3: upload, open by ETag, report put/get, not found.
	file := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(file, []byte(`{"ops": []}`), 0o644)
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, "batches/b.json", file)
	if err != nil || up.ETag == "" {
		t.Fatalf("upload: %+v %v", up, err)
	}
	body, err := c.Objects.Open(ctx, splitter.Ref{Bucket: c.Res.Bucket, Key: "batches/b.json", ETag: up.ETag})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != `{"ops": []}` {
		t.Fatalf("read back %q", b)
	}
	if _, err := c.Objects.Open(ctx, splitter.Ref{Bucket: c.Res.Bucket, Key: "batches/none.json"}); !objects.IsNotFound(err) || !retry.IsPermanent(err) {
		t.Fatalf("missing object: %v (want not found, permanent)", err)
	}
	if _, found, err := c.Report(ctx, "batches/none.json@x"); found || err != nil {
		t.Fatalf("report of an unknown batch: found=%v err=%v", found, err)
	}

	// SQS: a batch of 10 goes out and comes back intact.
	sender := opsqueue.NewSender(c.SQS, c.Res.QueueURL)
	var msgs []record.Message
	for i := range splitter.MaxSendBatch {
		msgs = append(msgs, record.Message{Name: fmt.Sprintf("n%d", i), Op: "1+\uFFFF", Batch: "b", Index: i})
	}
	failures, err := sender.SendBatch(ctx, msgs)
	if err != nil || len(failures) != 0 {
		t.Fatalf("SendBatch: %v %v", failures, err)
	}
	if _, err := sender.SendBatch(ctx, append(msgs, msgs[0])); !retry.IsPermanent(err) {
		t.Fatalf("11 messages: %v, want a permanent error", err)
	}
	got := map[string]bool{}
	for len(got) < len(msgs) {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(c.Res.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			dec, err := record.DecodeMessage(aws.ToString(m.Body))
			if err != nil || dec.Op != "1+\uFFFF" {
				t.Fatalf("received %q: %v", aws.ToString(m.Body), err)
			}
			got[dec.Name] = true
		}
	}

	// DynamoDB: 25 results, read back by name and through the index.
	var rs []record.Result
	for i := range 25 {
		v := record.Number(float64(i))
		r := record.Result{Name: fmt.Sprintf("r%02d", i), Op: "x", Status: record.StatusOK, Value: &v, Batch: "batch-1", ComputedAt: time.Now()}
		if i%5 == 0 {
			r.Status, r.Value, r.Error = record.StatusError, nil, "bad"
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if err := c.Table.Put(ctx, r); err != nil {
			t.Fatalf("Put %s: %v", r.Name, err)
		}
	}
	// The condition, as moto evaluates it: a newer upload's result stands
	// against an older one's; the same batch writes again (a redelivery).
	z := rs[1]
	z.Name = "z"
	if err := c.Table.Put(ctx, z); err != nil {
		t.Fatal(err)
	}
	newer := z
	newer.Batch, newer.Stamp = "batch-2", "2"
	if err := c.Table.Put(ctx, newer); err != nil {
		t.Fatalf("newer stamp over an unstamped item: %v", err)
	}
	older := z
	older.Batch, older.Stamp = "batch-0", "1"
	if err := c.Table.Put(ctx, older); !errors.Is(err, compute.ErrSuperseded) {
		t.Fatalf("older stamp over a newer one: %v, want ErrSuperseded", err)
	}
	if err := c.Table.Put(ctx, newer); err != nil {
		t.Fatalf("the same batch again: %v", err)
	}
	if got, err := c.Table.Get(ctx, []string{"z"}); err != nil || got["z"].Batch != "batch-2" || got["z"].Stamp != "2" {
		t.Fatalf("z = %+v %v", got["z"], err)
	}
	all, err := c.Table.Get(ctx, []string{"r01", "r05", "r01", "missing"})
	if err != nil || len(all) != 2 || all["r01"].Value.Num != 1 || all["r05"].Error != "bad" {
		t.Fatalf("Get: %+v %v", all, err)
	}
	counts, err := c.Table.CountBatch(ctx, "batch-1")
	if err != nil || counts.OK != 20 || counts.Error != 5 {
		t.Fatalf("CountBatch: %+v %v", counts, err)
	}
}
