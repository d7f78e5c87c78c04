package opsqueue_test

// The SQS adapter against moto.

import (
	"context"
	"fmt"
	"strings"
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

	// Full packs, with an op SQS would refuse raw (U+FFFF).
	var msgs []record.Message
	for i := range splitter.MaxSendBatch {
		m := record.Message{Batch: "b"}
		for k := range splitter.DefaultPackOps {
			m.Ops = append(m.Ops, record.MessageOp{Name: fmt.Sprintf("n%d-%d", i, k), Op: "1+\uFFFF", Index: i*splitter.DefaultPackOps + k})
		}
		msgs = append(msgs, m)
	}
	failures, err := sender.SendBatch(ctx, msgs)
	if err != nil || len(failures) != 0 {
		t.Fatalf("SendBatch: %v %v", failures, err)
	}
	if _, err := sender.SendBatch(ctx, append(msgs, msgs[0])); !retry.IsPermanent(err) {
		t.Fatalf("11 messages: %v, want a permanent error", err)
	}
	got := map[string]bool{}
	for len(got) < len(msgs)*splitter.DefaultPackOps {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(res.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			dec, err := record.DecodeMessage(aws.ToString(m.Body))
			if err != nil || len(dec.Ops) != splitter.DefaultPackOps {
				t.Fatalf("received %q: %v", aws.ToString(m.Body), err)
			}
			for _, op := range dec.Ops {
				if op.Op != "1+\uFFFF" {
					t.Fatalf("received op %+v", op)
				}
				got[op.Name] = true
			}
		}
	}
}

// A call of exactly 1 MiB of bodies (SendMessageBatch's limit on their sum)
// is accepted; one byte more is refused before it is sent, permanently.
func TestSenderAtTheOneMiBEdge(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "opsqueue-edge")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sender := opsqueue.NewSender(sqs.NewFromConfig(cfg), res.QueueURL)
	msgs := make([]record.Message, splitter.MaxSendBatch)
	total := 0
	for i := range msgs {
		msgs[i] = record.Message{Batch: "b", Ops: []record.MessageOp{{Name: fmt.Sprint("n", i), Op: "1", Index: i}}}
		total += msgs[i].Size()
	}
	// Grow the first op's ASCII payload until the bodies sum to 1 MiB.
	msgs[0].Ops[0].Op += strings.Repeat("1", splitter.MaxCallBytes-total)
	if n := sumSizes(msgs); n != splitter.MaxCallBytes {
		t.Fatalf("the test's call holds %d bytes", n)
	}
	if failures, err := sender.SendBatch(ctx, msgs); err != nil || len(failures) != 0 {
		t.Fatalf("a call of exactly 1 MiB: %v %v", failures, err)
	}
	msgs[1].Ops[0].Op += "1"
	if _, err := sender.SendBatch(ctx, msgs); !retry.IsPermanent(err) {
		t.Fatalf("a call of 1 MiB + 1 byte: %v, want a permanent error", err)
	}
}

func sumSizes(msgs []record.Message) int {
	n := 0
	for _, m := range msgs {
		n += m.Size()
	}
	return n
}
