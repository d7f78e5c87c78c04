package workspace

// Resuming a batch whose split failed, without uploading it again: its
// records in the split-failures queue go back to the splitter as the
// asynchronous invocations they were, and its chunk tasks in the chunk DLQ
// back to the chunk queue.
//
// Running a split again is safe (TestResumedSplitIsIdempotent in
// internal/pipeline/splitter shows it): the plan is stored under the batch
// id, key@ETag, so it names the same bytes; every op message is keyed by
// its name and carries the batch's stamp, which comes from the event (its
// sequencer and time), so compute writes the same items again and a newer
// upload's results stay; the done markers are per chunk index, so a chunk
// done twice counts once; and the last chunk rewrites the report from
// failed or splitting to split.

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/pipeline/record"
)

// ErrNothingToResume: no record of a failed split and no chunk task in the
// chunk DLQ names the batch (or, with all, none at all).
var ErrNothingToResume = errors.New("nothing to resume")

// ResumeResult says what Resume did.
type ResumeResult struct {
	// Invoked lists, per split-failures record, the batch ids of the event
	// the splitter was invoked with again (Lambda accepted the invocation:
	// HTTP 202). The record was then deleted, except for RecordsLeft of
	// them, whose deletion failed: they reappear, and resuming them again
	// splits the batch again, to the same result.
	Invoked     [][]string
	RecordsLeft int
	// Chunks is the move of chunk tasks from the chunk DLQ to the chunk
	// queue (Moved, Duplicated as for a redrive).
	Chunks RedriveResult
	// Undecodable counts the records of the split-failures queue that could
	// not be read; they stay where they are.
	Undecodable int
}

// Nothing reports whether Resume found nothing to do.
func (r ResumeResult) Nothing() bool {
	return len(r.Invoked) == 0 && r.Chunks.Moved == 0 && r.Chunks.Duplicated == 0
}

// resumeVisibility hides the records and tasks Resume is working on; the
// ones it leaves are made visible again when it ends.
const resumeVisibility = 120

// Resume resumes batch id (every batch, with an empty id): it moves the
// batch's chunk tasks from the chunk DLQ back to the chunk queue, and
// invokes the splitter asynchronously (InvocationType Event) with the
// requestPayload of each of the batch's records in the split-failures
// queue, deleting a record only once Lambda has accepted its invocation.
// A failed split invoked again gets Lambda's retries and, if it fails
// again, a new record. It returns ErrNothingToResume (with an empty result)
// when it found nothing of the batch.
func (c *Client) Resume(ctx context.Context, id string) (ResumeResult, error) {
	var res ResumeResult
	p, err := c.pair(QueueChunks)
	if err != nil {
		return res, err
	}
	res.Chunks, err = c.redriveLoop(ctx, p, func(body string) bool {
		t, err := record.DecodeChunkTask(body)
		return err == nil && (id == "" || t.Batch == id)
	})
	if err != nil {
		return res, fmt.Errorf("moving chunk tasks back to the chunk queue: %w", err)
	}
	if err := c.resumeSplits(ctx, id, &res); err != nil {
		return res, err
	}
	if res.Nothing() {
		return res, ErrNothingToResume
	}
	return res, nil
}

func (c *Client) resumeSplits(ctx context.Context, id string, res *ResumeResult) error {
	if c.Res.SplitFailuresURL == "" || c.Res.SplitterFunction == "" {
		return errors.New("the workspace's split-failures queue or splitter function is unknown")
	}
	var left []string
	defer func() { c.release(context.WithoutCancel(ctx), c.Res.SplitFailuresURL, left) }()
	for {
		// A long poll: a short one can miss the only record (see
		// redriveLoop).
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(c.Res.SplitFailuresURL), MaxNumberOfMessages: 10, VisibilityTimeout: resumeVisibility, WaitTimeSeconds: 1,
		})
		if err != nil {
			return fmt.Errorf("reading the split-failures queue: %w", err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		for _, m := range out.Messages {
			f, err := DecodeSplitFailure(aws.ToString(m.Body))
			if err != nil {
				res.Undecodable++
			}
			if err != nil || (id != "" && !f.Has(id)) {
				left = append(left, aws.ToString(m.ReceiptHandle))
				continue
			}
			if err := c.invokeSplitter(ctx, f.RequestPayload); err != nil {
				left = append(left, aws.ToString(m.ReceiptHandle))
				return fmt.Errorf("invoking %s for %s (the record stays in the split-failures queue): %w", c.Res.SplitterFunction, f.Batch(), err)
			}
			res.Invoked = append(res.Invoked, f.Batches)
			if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(c.Res.SplitFailuresURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				res.RecordsLeft++
			}
		}
	}
}

// invokeSplitter hands the splitter an event as S3 does: an asynchronous
// invocation, which Lambda accepts with HTTP 202 and then runs with its
// retries and on-failure destination ("Invoke", AWS Lambda API Reference:
// "For the Event invocation type, this status code is 202").
func (c *Client) invokeSplitter(ctx context.Context, payload []byte) error {
	out, err := c.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(c.Res.SplitterFunction),
		InvocationType: ltypes.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return err
	}
	if out.StatusCode != 202 {
		return fmt.Errorf("Lambda answered %d, not 202 (accepted)", out.StatusCode)
	}
	return nil
}

// Resumable counts what Resume would find of batch id without moving it:
// its records in the split-failures queue and its tasks in the chunk DLQ
// (memo status prints a hint when either is there).
func (c *Client) Resumable(ctx context.Context, id string) (records, chunks int, err error) {
	for _, q := range []Queue{QueueSplitFailures, QueueChunks} {
		if c.url(q) == "" {
			continue
		}
		msgs, err := c.peek(ctx, q)
		var partial *PartialPeekError
		if err != nil && !errors.As(err, &partial) {
			return records, chunks, err
		}
		for _, m := range msgs {
			switch {
			case m.SplitFailure != nil && m.SplitFailure.Has(id):
				records++
			case m.Chunk != nil && m.Chunk.Batch == id:
				chunks++
			}
		}
	}
	return records, chunks, nil
}
