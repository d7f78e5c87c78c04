package inmem

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/record"
)

// The mapping deletes what the handler did not list, redelivers what it
// listed, and dead-letters a message on the receive after its
// maxReceive-th, as SQS's redrive policy does.
func TestMappingRedeliversAndDeadLetters(t *testing.T) {
	q := &Queue{}
	if _, err := q.SendBatch(context.Background(), []record.Message{
		{Batch: "b", Ops: []record.MessageOp{{Name: "ok", Op: "1"}}}, {Batch: "b", Ops: []record.MessageOp{{Name: "poison", Op: "2"}}}}); err != nil {
		t.Fatal(err)
	}
	m := NewMapping(q, 3, 10)
	seen := map[string]int{}
	err := m.Run(context.Background(), func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			msg, err := record.DecodeMessage(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			name := msg.Ops[0].Name
			seen[name]++
			if name == "poison" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if seen["ok"] != 1 || seen["poison"] != 3 {
		t.Errorf("deliveries %v, want ok once and poison 3 times (maxReceive)", seen)
	}
	if dlq := m.DLQ(); len(dlq) != 1 || dlq[0].Receives != 3 {
		t.Errorf("DLQ %+v, want the poison message after 3 receives", dlq)
	}
	if m.Stats.ItemFailures != 3 || m.Stats.Invocations != 3 {
		t.Errorf("stats %+v, want 3 item failures in 3 invocations", m.Stats)
	}
}
