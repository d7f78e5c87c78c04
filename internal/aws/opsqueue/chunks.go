package opsqueue

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// ChunkSender queues chunk tasks on the chunk queue.
type ChunkSender struct {
	client   *sqs.Client
	queueURL string
	retry    retry.Policy
}

var _ splitter.ChunkQueue = (*ChunkSender)(nil)

// NewChunkSender returns a ChunkSender for the queue at queueURL.
func NewChunkSender(client *sqs.Client, queueURL string) *ChunkSender {
	return &ChunkSender{client: client, queueURL: queueURL, retry: retry.Default}
}

// SendChunks sends the tasks 10 to a SendMessageBatch call, retrying failed
// entries and failed calls with memo's backoff (retry.Batch, the contract
// the splitter's sends of ops follow too).
func (s *ChunkSender) SendChunks(ctx context.Context, tasks []record.ChunkTask) error {
	name := func(t record.ChunkTask) string { return fmt.Sprintf("chunk task %d", t.Chunk) }
	for len(tasks) > 0 {
		n := min(len(tasks), splitter.MaxSendBatch)
		if _, err := retry.Batch(ctx, s.retry, tasks[:n], name, s.sendGroup); err != nil {
			return fmt.Errorf("send chunk tasks to %s: %w", s.queueURL, err)
		}
		tasks = tasks[n:]
	}
	return nil
}

// sendGroup makes one SendMessageBatch call of at most MaxSendBatch tasks.
func (s *ChunkSender) sendGroup(ctx context.Context, tasks []record.ChunkTask) ([]retry.Failure, error) {
	bodies := make([]string, len(tasks))
	for i, t := range tasks {
		body, err := t.Encode()
		if err != nil {
			return nil, retry.Permanent(err)
		}
		bodies[i] = body
	}
	return sendBodies(ctx, s.client, s.queueURL, bodies)
}
