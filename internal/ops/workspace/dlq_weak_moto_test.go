package workspace_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

// Issue 18, points 1 and 4, as reproduced there: 12 ops wait in the DLQ,
// SQS answers short polls empty (weak.Config.EmptyShortPolls: 90% of them
// here) and its approximate counts lag (CountLag, longer than the test).
// The DLQ is read whole all the same: every op is counted in the DLQ, one
// by one across the packed messages that carry them (10 and 2 ops).
func TestDLQReadWithWeakPromises(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "weakdlq")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	raw := workspace.New(cfg, res)
	const batch = "batches/k.json@v1"
	var want []string
	packs := []record.Message{{Batch: batch, Stamp: "s"}, {Batch: batch, Stamp: "s"}}
	for i := range 12 {
		name := fmt.Sprintf("op%02d", i)
		want = append(want, name)
		p := &packs[i/10]
		p.Ops = append(p.Ops, record.MessageOp{Name: name, Op: "1", Index: i})
	}
	for _, p := range packs {
		body, _ := p.Encode()
		if _, err := raw.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(res.DLQURL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// op03's name holds a newer upload's result: superseded, counted once.
	if err := raw.Table.Put(ctx, record.Result{Name: "op03", Op: "2", Status: record.StatusError, Error: "x", Batch: "batches/z.json@v9", Stamp: "t"}); err != nil {
		t.Fatal(err)
	}
	w := weak.New(weak.Config{EmptyShortPolls: 0.9, CountLag: time.Hour, Seed: 1})
	wcfg := cfg.Copy()
	wcfg.APIOptions = append(wcfg.APIOptions, w.APIOption)
	c := workspace.New(wcfg, res)
	if v, f, err := c.QueueDepth(ctx, res.DLQURL); err != nil || v+f != 0 {
		t.Fatalf("the lagging count should read 0 (the knob is on): %d %d %v", v, f, err)
	}
	got, err := c.DLQ(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("DLQ names = %v, want %v", got, want)
	}
	// The peek released what it read: a second read finds them all again.
	msgs, err := c.PeekDLQ(ctx)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("second peek: %d messages, %v", len(msgs), err)
	}
	found, superseded, err := c.CountSuperseded(ctx)
	if err != nil || found != 12 || superseded != 1 {
		t.Fatalf("CountSuperseded = %d ops, %d superseded, %v; want 12 and 1", found, superseded, err)
	}
}
