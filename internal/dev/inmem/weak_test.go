package inmem

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// runWeak sends n messages through a mapping (maxReceive 3) with w and a
// handler that succeeds, and returns how often each message was delivered.
func runWeak(t *testing.T, w Weak, n int) (*Mapping, map[string]int) {
	t.Helper()
	m := NewMapping(&Queue{}, 3, 10)
	m.Weak = w
	for i := range n {
		m.Send(fmt.Sprintf("m%02d", i), "{}")
	}
	seen := map[string]int{}
	err := m.Run(context.Background(), func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			seen[r.MessageId]++
		}
		return events.SQSEventResponse{}, nil
	}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return m, seen
}

func each(n, times int) map[string]int {
	want := map[string]int{}
	for i := range n {
		want[fmt.Sprintf("m%02d", i)] = times
	}
	return want
}

// With the weak promises at certainty the mapping shows each one plainly:
// every message stored twice is delivered twice; a delete that never takes
// redelivers a message until SQS dead-letters it; a function always
// throttled never runs and its messages reach the DLQ, their receives
// counted.
func TestMappingWeakPromises(t *testing.T) {
	const n = 12
	t.Run("duplicates", func(t *testing.T) {
		m, seen := runWeak(t, Weak{Duplicates: 1}, n)
		if d := cmp.Diff(each(n, 2), seen); d != "" {
			t.Errorf("deliveries (-want +got):\n%s", d)
		}
		if m.WeakStats.Duplicated != n || len(m.DLQ()) != 0 {
			t.Errorf("weak stats %+v, dlq %d", m.WeakStats, len(m.DLQ()))
		}
	})
	t.Run("lost deletes", func(t *testing.T) {
		m, seen := runWeak(t, Weak{LostDeletes: 1}, n)
		if d := cmp.Diff(each(n, 3), seen); d != "" {
			t.Errorf("deliveries (-want +got):\n%s", d)
		}
		if len(m.DLQ()) != n || m.WeakStats.LostDeletes != 3*n {
			t.Errorf("dlq %d, weak stats %+v; want all %d dead-lettered after 3 lost deletes each", len(m.DLQ()), m.WeakStats, n)
		}
	})
	t.Run("throttles", func(t *testing.T) {
		m, seen := runWeak(t, Weak{Throttles: 1}, n)
		if len(seen) != 0 || m.Stats.Invocations != 0 {
			t.Errorf("a throttled function ran: %v, %d invocations", seen, m.Stats.Invocations)
		}
		dlq := m.DLQ()
		if len(dlq) != n || dlq[0].Receives != 3 {
			t.Fatalf("dlq %+v, want all %d after 3 receives", dlq, n)
		}
	})
	t.Run("some of each", func(t *testing.T) {
		m, seen := runWeak(t, DefaultWeak(), 500)
		dead := map[string]bool{}
		for _, d := range m.DLQ() {
			dead[d.ID] = true
		}
		for id := range each(500, 1) {
			if seen[id] == 0 && !dead[id] {
				t.Errorf("%s was neither delivered nor dead-lettered", id)
			}
		}
		if m.WeakStats.Duplicated == 0 || m.WeakStats.LostDeletes == 0 || m.WeakStats.Throttled == 0 {
			t.Errorf("weak stats %+v: a knob never acted", m.WeakStats)
		}
	})
}
