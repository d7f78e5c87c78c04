package opsqueue_test

// The SQS adapter against moto.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// A batch of 10 goes out and comes back intact (U+FFFF included, which SQS
// refuses raw); 11 is a permanent error.
func TestSenderAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "opsqueue")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := sqs.NewFromConfig(cfg)
	sender := opsqueue.NewSender(client, res.QueueURL)

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
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(res.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
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
}
