package inmem

// The in-memory fakes' one emulation of the SQS event source mapping (the
// twin's, against moto's SQS, is internal/dev/local's plumbing).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is a function the mapping invokes: compute's Handle.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Message is one message of the simulated ops queue.
type Message struct {
	ID, Body string
	// Receives counts the receives of the message so far.
	Receives int
}

// Mapping is the ops queue seen through the SQS event source mapping. It
// takes the messages the splitter sent (Queue.Receive), gathers
// batches, invokes compute, deletes what succeeded (DeleteMessageBatch, 10
// at a time) and lets the rest reappear; a message received maxReceive
// times goes to the DLQ on its next receive, as SQS's redrive policy does.
// The time of the visibility timeout is not simulated: a message that is
// not deleted goes to the back of the queue. A fault rate loses receive
// responses (the messages stay hidden, then reappear, a receive counted)
// and fails delete calls (the messages are redelivered).
type Mapping struct {
	mu         sync.Mutex
	src        *Queue
	visible    []*Message
	dlq        []*Message
	maxReceive int
	rng        *rand.Rand
	// BatchSize is the most messages one invocation gets.
	BatchSize int
	// Rate is the fraction of receive answers lost and delete calls failed.
	Rate float64
	// Stats counts what happened; read it after Run.
	Stats MappingStats
	// Weak, when set, keeps SQS's and Lambda's weak promises (weak.go);
	// WeakStats counts what they did.
	Weak      Weak
	WeakStats WeakStats
}

// MappingStats counts a Mapping's work.
type MappingStats struct {
	Receives, LostReceives, DeleteCalls, FailedDeletes, Invocations, FailedInvocations, ItemFailures, Delivered int
}

func NewMapping(src *Queue, maxReceive, batchSize int) *Mapping {
	return &Mapping{src: src, maxReceive: maxReceive, BatchSize: batchSize, rng: rand.New(rand.NewPCG(1, 2))}
}

func (s *Mapping) fault() bool { return s.Rate > 0 && s.rng.Float64() < s.Rate }

func (s *Mapping) intake() {
	for {
		ev := s.src.Receive(1000)
		if len(ev.Records) == 0 {
			return
		}
		for _, r := range ev.Records {
			m := &Message{ID: r.MessageId, Body: r.Body}
			s.visible = append(s.visible, m)
			s.duplicate(m)
		}
	}
}

// Send adds a message straight to the queue (a poison message).
func (s *Mapping) Send(id, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{ID: id, Body: body}
	s.visible = append(s.visible, m)
	s.duplicate(m)
}

// DLQ returns the dead-lettered messages.
func (s *Mapping) DLQ() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.dlq...)
}

// Run polls until the queue is empty. It fails after maxRounds batches,
// which would mean that redelivery does not converge.
func (s *Mapping) Run(ctx context.Context, h Handler, maxRounds int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for round := 0; ; round++ {
		s.intake()
		if len(s.visible) == 0 {
			return nil
		}
		if round >= maxRounds {
			return fmt.Errorf("the queue still holds %d messages after %d batches", len(s.visible), round)
		}
		n := min(s.BatchSize, len(s.visible))
		take := s.visible[:n]
		s.visible = append([]*Message(nil), s.visible[n:]...)
		var batch []*Message
		for _, m := range take {
			if m.Receives >= s.maxReceive {
				s.dlq = append(s.dlq, m)
				continue
			}
			m.Receives++
			batch = append(batch, m)
		}
		if len(batch) == 0 {
			continue
		}
		s.Stats.Receives++
		if s.throttled(batch) {
			continue
		}
		if s.fault() {
			// The receive happened but its answer was lost: the messages
			// stay invisible for the visibility timeout, then reappear.
			s.Stats.LostReceives++
			s.visible = append(s.visible, batch...)
			continue
		}
		ev := events.SQSEvent{Records: make([]events.SQSMessage, len(batch))}
		for i, m := range batch {
			ev.Records[i] = events.SQSMessage{MessageId: m.ID, Body: m.Body, EventSource: "aws:sqs",
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.Receives)}}
		}
		s.Stats.Invocations++
		s.Stats.Delivered += len(batch)
		resp, err := h(ctx, ev)
		if err != nil {
			// A function error: nothing is deleted, all of it comes back.
			s.Stats.FailedInvocations++
			s.visible = append(s.visible, batch...)
			continue
		}
		failed := map[string]bool{}
		in := map[string]bool{}
		for _, m := range batch {
			in[m.ID] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !in[f.ItemIdentifier] {
				return fmt.Errorf("invalid partial batch response: %q is not in the batch", f.ItemIdentifier)
			}
			failed[f.ItemIdentifier] = true
		}
		s.Stats.ItemFailures += len(failed)
		var del []*Message
		for _, m := range batch {
			if failed[m.ID] {
				s.visible = append(s.visible, m)
			} else {
				del = append(del, m)
			}
		}
		for len(del) > 0 {
			k := min(10, len(del))
			s.Stats.DeleteCalls++
			if s.fault() {
				s.Stats.FailedDeletes++
				s.visible = append(s.visible, del[:k]...)
			} else {
				s.lostDeletes(del[:k])
			}
			del = del[k:]
		}
	}
}

func (s *Mapping) String() string {
	return fmt.Sprintf("receives=%d (lost %d) invocations=%d (failed %d) messages delivered=%d item failures=%d delete calls=%d (failed %d) dlq=%d",
		s.Stats.Receives, s.Stats.LostReceives, s.Stats.Invocations, s.Stats.FailedInvocations, s.Stats.Delivered, s.Stats.ItemFailures, s.Stats.DeleteCalls, s.Stats.FailedDeletes, len(s.dlq))
}

// Pending is the number of messages not yet consumed.
func (s *Mapping) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intake()
	return len(s.visible)
}

// Redrive moves the DLQ's messages back to the queue, their receive
// counts reset (as a redrive does).
func (s *Mapping) Redrive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.dlq)
	for _, m := range s.dlq {
		m.Receives = 0
		s.visible = append(s.visible, m)
	}
	s.dlq = nil
	return n
}

// Dead puts a message in the DLQ (one that failed maxReceive times).
func (s *Mapping) Dead(id, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dlq = append(s.dlq, &Message{ID: id, Body: body, Receives: s.maxReceive})
}
