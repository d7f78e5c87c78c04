package opsqueue

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

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
// entries and failed calls with memo's backoff. A batch of 2M ops at 50,000
// ops a chunk has 40 tasks: 4 calls.
func (s *ChunkSender) SendChunks(ctx context.Context, tasks []record.ChunkTask) error {
	for len(tasks) > 0 {
		n := min(len(tasks), splitter.MaxSendBatch)
		if err := s.sendGroup(ctx, tasks[:n]); err != nil {
			return err
		}
		tasks = tasks[n:]
	}
	return nil
}

func (s *ChunkSender) sendGroup(ctx context.Context, pending []record.ChunkTask) error {
	for attempt := 1; ; attempt++ {
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for i, t := range pending {
			body, err := t.Encode()
			if err != nil {
				return retry.Permanent(err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)}
		}
		out, err := s.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.queueURL), Entries: entries})
		var next []record.ChunkTask
		switch {
		case err != nil:
			err = Classify(fmt.Errorf("send chunk tasks to %s: %w", s.queueURL, err))
			if retry.IsPermanent(err) {
				return err
			}
			next = pending
		default:
			for _, f := range out.Failed {
				i, aerr := strconv.Atoi(aws.ToString(f.Id))
				if aerr != nil || i < 0 || i >= len(pending) {
					return fmt.Errorf("SQS reported a failure for unknown entry %q", aws.ToString(f.Id))
				}
				if f.SenderFault {
					return retry.Permanent(fmt.Errorf("SQS refused chunk task %d: %s: %s", pending[i].Chunk, aws.ToString(f.Code), aws.ToString(f.Message)))
				}
				next = append(next, pending[i])
			}
			if len(next) == 0 {
				return nil
			}
			err = fmt.Errorf("%d of %d chunk tasks failed, first: %s", len(next), len(pending), aws.ToString(out.Failed[0].Code))
		}
		if attempt >= s.retry.Attempts {
			return fmt.Errorf("send chunk tasks gave up after %d attempts: %w", attempt, err)
		}
		if werr := s.retry.Wait(ctx, attempt); werr != nil {
			return fmt.Errorf("send chunk tasks interrupted: %w (last error: %v)", werr, err)
		}
		pending = next
	}
}
