package workspace

// Redriving the dead-letter queues (memo dlq --redrive): the moves back to
// the queues the messages came from; dlq.go reads them.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/memohq/memo/internal/pipeline/record"
)

// RedriveResult says what a redrive did.
type RedriveResult struct {
	// Method is "StartMessageMoveTask" or "receive-send-delete".
	Method string
	// TaskHandle identifies the AWS move task (Method StartMessageMoveTask).
	TaskHandle string
	// Moved counts messages sent to the ops queue and deleted from the DLQ.
	Moved int
	// Fallback is why StartMessageMoveTask was not used, if it was tried.
	Fallback string
	// Duplicated counts messages sent to the ops queue whose deletion from
	// the DLQ failed: they are in both queues (compute writes are
	// idempotent, so the op is computed twice, not differently).
	Duplicated int
	// Found is the number of ops (of the ops DLQ's packed messages; of
	// chunk tasks in the chunk DLQ) when the redrive began, and
	// Superseded how many of those ops' names hold a result of a newer
	// upload: compute refuses their writes (the newest upload wins), so
	// they leave the stored results alone. Moved and Duplicated count
	// messages.
	Found, Superseded int
}

// CountSuperseded peeks at the ops DLQ and counts its ops, one by one
// across their packed messages (found), and those whose name holds a
// result of a newer upload than the op's (another batch with a greater
// stamp): one BatchGetItem per 100 names. When the DLQ is too large to
// peek whole, the messages not read count as many ops as the largest
// pack read (at least one): an estimate.
func (c *Client) CountSuperseded(ctx context.Context) (found, superseded int, err error) {
	msgs, err := c.PeekDLQ(ctx)
	var partial *PartialPeekError
	if err != nil && !errors.As(err, &partial) {
		return 0, 0, err
	}
	var names []string
	for _, m := range msgs {
		if m.Decoded != nil {
			for _, op := range m.Decoded.Ops {
				names = append(names, op.Name)
			}
		}
	}
	found = len(names) + undecodable(msgs) + unreadOps(msgs, partial)
	items, err := c.Table.Get(ctx, names)
	if err != nil {
		return found, 0, err
	}
	for _, m := range msgs {
		if m.Decoded == nil {
			continue
		}
		for _, op := range m.Decoded.Ops {
			if it, ok := items[op.Name]; ok && it.Batch != m.Decoded.Batch && record.Newer(it.Stamp, m.Decoded.Stamp) {
				superseded++
			}
		}
	}
	return found, superseded, nil
}

// Redrive moves the DLQ's messages back to the ops queue: with SQS's
// StartMessageMoveTask where the service supports it, else with a
// receive-send-delete loop that deletes a message only after its copy was
// sent, so that none is lost.
//
// Before moving, it counts the messages that are superseded (Found,
// Superseded): counted on a peek just before the move, so a message that
// arrives in the DLQ meanwhile is moved uncounted.
func (c *Client) Redrive(ctx context.Context, forceLoop bool) (RedriveResult, error) {
	return c.RedriveQueue(ctx, QueueOps, forceLoop)
}

// RedriveQueue moves the messages of queue q back to the queue they came
// from, as Redrive does: the ops DLQ's to the ops queue, the chunk DLQ's to
// the chunk queue. The split-failures queue has no source queue: its
// records are resumed by invoking the splitter (Resume).
func (c *Client) RedriveQueue(ctx context.Context, q Queue, forceLoop bool) (RedriveResult, error) {
	p, err := c.pair(q)
	if err != nil {
		return RedriveResult{}, err
	}
	var found, superseded int
	if q == QueueOps {
		found, superseded, err = c.CountSuperseded(ctx)
	} else {
		var msgs []DLQMessage
		msgs, err = c.peek(ctx, q)
		found = len(msgs)
		var partial *PartialPeekError
		if errors.As(err, &partial) {
			found, err = partial.Depth, nil
		}
	}
	if err != nil {
		return RedriveResult{}, err
	}
	res, err := c.redrive(ctx, p, forceLoop)
	res.Found, res.Superseded = found, superseded
	return res, err
}

// queuePair is a DLQ and the queue its messages came from.
type queuePair struct {
	name     string // for messages: "ops queue", "chunk queue"
	src, dst string
}

func (c *Client) pair(q Queue) (queuePair, error) {
	switch q {
	case QueueOps:
		return queuePair{"ops queue", c.Res.DLQURL, c.Res.QueueURL}, nil
	case QueueChunks:
		if c.Res.ChunkDLQURL == "" || c.Res.ChunkQueueURL == "" {
			return queuePair{}, errors.New("the workspace's chunk queue and chunk DLQ are unknown")
		}
		return queuePair{"chunk queue", c.Res.ChunkDLQURL, c.Res.ChunkQueueURL}, nil
	default:
		return queuePair{}, fmt.Errorf("the %s queue holds records of failed splits, not messages of a queue: resume them with memo resume", q)
	}
}

func (c *Client) redrive(ctx context.Context, p queuePair, forceLoop bool) (RedriveResult, error) {
	if !forceLoop {
		src, err := c.queueARN(ctx, p.src)
		if err != nil {
			return RedriveResult{}, err
		}
		dst, err := c.queueARN(ctx, p.dst)
		if err != nil {
			return RedriveResult{}, err
		}
		out, err := c.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), DestinationArn: aws.String(dst)})
		if err == nil {
			return RedriveResult{Method: "StartMessageMoveTask", TaskHandle: aws.ToString(out.TaskHandle)}, nil
		}
		// Fall back to the loop only where the service lacks the API
		// (moto answers 500) and no move task of this DLQ runs: a task
		// already running ("Only one active message movement task is
		// supported per queue", StartMessageMoveTask, Amazon SQS API
		// Reference) is moving the messages, and a loop beside it would
		// copy some twice; AccessDenied would deny the loop too.
		if !moveTaskUnsupported(err) || c.moveTaskRunning(ctx, src) {
			return RedriveResult{Method: "StartMessageMoveTask"}, fmt.Errorf("StartMessageMoveTask from %s: %w (memo dlq redrive --loop moves the messages one by one instead)", src, err)
		}
		res, lerr := c.redriveLoop(ctx, p, nil)
		res.Fallback = err.Error()
		return res, lerr
	}
	return c.redriveLoop(ctx, p, nil)
}

// moveTaskUnsupported reports whether StartMessageMoveTask failed because
// the service does not offer it: an unknown or unsupported operation, or a
// 5xx (emulators answer 500 for operations they lack).
func moveTaskUnsupported(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch strings.TrimPrefix(api.ErrorCode(), "AWS.SimpleQueueService.") {
		case "UnsupportedOperation", "InvalidAction", "UnknownOperation", "UnknownOperationException":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// moveTaskRunning reports whether a message move task of the queue with ARN
// src is running (false when the service cannot say).
func (c *Client) moveTaskRunning(ctx context.Context, src string) bool {
	out, err := c.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src)})
	if err != nil {
		return false
	}
	for _, t := range out.Results {
		if aws.ToString(t.Status) == "RUNNING" {
			return true
		}
	}
	return false
}

func (c *Client) queueARN(ctx context.Context, url string) (string, error) {
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// redriveLoop moves the messages of p.src to p.dst, the ones whose body
// match accepts (all with a nil match), deleting each only after its copy
// was sent. The others are made visible again at the end. With a match it
// long-polls (1 s): a short poll samples some of SQS's servers and can
// come back empty from a queue that holds a few messages ("Amazon SQS
// short and long polling", Amazon SQS Developer Guide), and a resume must
// not miss the one task it is for.
func (c *Client) redriveLoop(ctx context.Context, p queuePair, match func(body string) bool) (RedriveResult, error) {
	res := RedriveResult{Method: "receive-send-delete"}
	var skipped []string
	defer func() { c.release(context.WithoutCancel(ctx), p.src, skipped) }()
	wait := int32(0)
	if match != nil {
		wait = 1
	}
	for {
		resp, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.src), MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: wait,
		})
		if err != nil {
			return res, fmt.Errorf("reading the DLQ: %w", err)
		}
		if len(resp.Messages) == 0 {
			return res, nil
		}
		var msgs []types.Message
		for _, m := range resp.Messages {
			if match == nil || match(aws.ToString(m.Body)) {
				msgs = append(msgs, m)
			} else {
				skipped = append(skipped, aws.ToString(m.ReceiptHandle))
			}
		}
		if len(msgs) == 0 {
			continue
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
		for i, m := range msgs {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body}
		}
		sent, err := c.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.dst), Entries: entries})
		if err != nil {
			// Nothing is deleted: the messages reappear in the DLQ.
			return res, fmt.Errorf("sending to the %s (nothing deleted from the DLQ): %w", p.name, err)
		}
		var del []types.DeleteMessageBatchRequestEntry
		for _, ok := range sent.Successful {
			i, _ := strconv.Atoi(aws.ToString(ok.Id))
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: ok.Id, ReceiptHandle: msgs[i].ReceiptHandle})
		}
		if len(del) > 0 {
			out, err := c.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.src), Entries: del})
			if err != nil {
				res.Duplicated += len(del)
				return res, fmt.Errorf("deleting moved messages from the DLQ (%d now in both queues): %w", len(del), err)
			}
			res.Moved += len(out.Successful)
			res.Duplicated += len(out.Failed)
		}
		if len(sent.Failed) > 0 {
			return res, fmt.Errorf("%d messages could not be sent to the %s and stay in the DLQ: %s", len(sent.Failed), p.name, aws.ToString(sent.Failed[0].Message))
		}
	}
}
