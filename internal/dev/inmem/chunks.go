package inmem

import (
	"context"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// ChunkQueue is an in-memory chunk queue: it keeps every task sent, in
// order, and hands them out as SQS events.
type ChunkQueue struct {
	mu    sync.Mutex
	tasks []record.ChunkTask
	next  int
}

var _ splitter.ChunkQueue = (*ChunkQueue)(nil)

// SendChunks implements splitter.ChunkQueue.
func (q *ChunkQueue) SendChunks(_ context.Context, tasks []record.ChunkTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, tasks...)
	return nil
}

// Tasks returns every task sent so far.
func (q *ChunkQueue) Tasks() []record.ChunkTask {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]record.ChunkTask(nil), q.tasks...)
}

// ChunkEvent wraps tasks as the SQS event the chunk queue's mapping delivers,
// with message ids "c<chunk>".
func ChunkEvent(tasks ...record.ChunkTask) events.SQSEvent {
	var ev events.SQSEvent
	for _, t := range tasks {
		body, _ := t.Encode()
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "c" + strconv.Itoa(t.Chunk), Body: body})
	}
	return ev
}
