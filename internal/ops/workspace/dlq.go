package workspace

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/memohq/memo/internal/pipeline/record"
)

// DLQMessage is one message found in the dead-letter queue.
type DLQMessage struct {
	ID   string `json:"id"`
	Body string `json:"body"`
	// ReceiveCount is SQS's receive count before this peek: the receives
	// from the ops queue plus any earlier peeks of the DLQ.
	ReceiveCount int             `json:"receive_count"`
	SentAt       time.Time       `json:"sent_at"`
	Decoded      *record.Message `json:"decoded,omitempty"`
	DecodeError  string          `json:"decode_error,omitempty"`
}

// peekVisibility hides peeked messages while a peek runs; they are made
// visible again as soon as it ends.
const peekVisibility = 30

// PeekDLQ lists the messages in the DLQ without removing them. Receiving
// hides a message for a while and counts as a receive on the DLQ (which has
// no redrive of its own), so the messages are made visible again at the end.
func (c *Client) PeekDLQ(ctx context.Context) ([]DLQMessage, error) {
	var out []DLQMessage
	var handles []string
	seen := map[string]bool{}
	defer func() { c.release(context.WithoutCancel(ctx), handles) }()
	for {
		resp, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.Res.DLQURL),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           peekVisibility,
			WaitTimeSeconds:             0,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return nil, fmt.Errorf("reading the DLQ %s: %w", c.Res.DLQURL, err)
		}
		if len(resp.Messages) == 0 {
			return out, nil
		}
		for _, m := range resp.Messages {
			handles = append(handles, aws.ToString(m.ReceiptHandle))
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, toDLQMessage(m))
		}
	}
}

func toDLQMessage(m types.Message) DLQMessage {
	d := DLQMessage{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)}
	attrs := m.Attributes
	// SQS keeps counting receives in the DLQ: this peek's own receive is
	// taken off, but earlier peeks (memo dlq list, memo status) still count.
	if n, err := strconv.Atoi(attrs[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		d.ReceiveCount = max(n-1, 0)
	}
	if ms, err := strconv.ParseInt(attrs[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	if msg, err := record.DecodeMessage(d.Body); err == nil {
		d.Decoded = &msg
	} else {
		d.DecodeError = err.Error()
	}
	return d
}

// release makes received messages visible again.
func (c *Client) release(ctx context.Context, handles []string) {
	for len(handles) > 0 {
		n := min(len(handles), 10)
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, n)
		for i, h := range handles[:n] {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0}
		}
		// Best effort: a message that stays hidden reappears after
		// peekVisibility seconds anyway.
		_, _ = c.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(c.Res.DLQURL), Entries: entries})
		handles = handles[n:]
	}
}

// QueueDepth returns a queue's approximate visible and in-flight counts.
func (c *Client) QueueDepth(ctx context.Context, url string) (visible, inFlight int, err error) {
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, err
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

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
	// Found is the number of messages in the DLQ when the redrive began,
	// and Superseded how many of them carry an op whose name holds a
	// result of a newer upload: compute refuses their writes (the newest
	// upload wins), so they leave the stored results alone.
	Found, Superseded int
}

// CountSuperseded peeks at the DLQ and counts its messages whose op name
// holds a result of a newer upload than the message's (another batch with
// a greater stamp): one BatchGetItem per 100 names.
func (c *Client) CountSuperseded(ctx context.Context) (found, superseded int, err error) {
	msgs, err := c.PeekDLQ(ctx)
	if err != nil {
		return 0, 0, err
	}
	var names []string
	for _, m := range msgs {
		if m.Decoded != nil {
			names = append(names, m.Decoded.Name)
		}
	}
	items, err := c.Table.Get(ctx, names)
	if err != nil {
		return len(msgs), 0, err
	}
	for _, m := range msgs {
		if m.Decoded == nil {
			continue
		}
		if it, ok := items[m.Decoded.Name]; ok && it.Batch != m.Decoded.Batch && it.Stamp > m.Decoded.Stamp {
			superseded++
		}
	}
	return len(msgs), superseded, nil
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
	found, superseded, err := c.CountSuperseded(ctx)
	if err != nil {
		return RedriveResult{}, err
	}
	res, err := c.redrive(ctx, forceLoop)
	res.Found, res.Superseded = found, superseded
	return res, err
}

func (c *Client) redrive(ctx context.Context, forceLoop bool) (RedriveResult, error) {
	if !forceLoop {
		src, err := c.queueARN(ctx, c.Res.DLQURL)
		if err != nil {
			return RedriveResult{}, err
		}
		dst, err := c.queueARN(ctx, c.Res.QueueURL)
		if err != nil {
			return RedriveResult{}, err
		}
		out, err := c.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), DestinationArn: aws.String(dst)})
		if err == nil {
			return RedriveResult{Method: "StartMessageMoveTask", TaskHandle: aws.ToString(out.TaskHandle)}, nil
		}
		// Emulators lack the API (moto answers 500). The loop is always
		// safe, so fall back to it whatever the reason, and say why.
		res, lerr := c.redriveLoop(ctx)
		res.Fallback = err.Error()
		return res, lerr
	}
	return c.redriveLoop(ctx)
}

func (c *Client) queueARN(ctx context.Context, url string) (string, error) {
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

func (c *Client) redriveLoop(ctx context.Context) (RedriveResult, error) {
	res := RedriveResult{Method: "receive-send-delete"}
	for {
		resp, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(c.Res.DLQURL), MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0,
		})
		if err != nil {
			return res, fmt.Errorf("reading the DLQ: %w", err)
		}
		if len(resp.Messages) == 0 {
			return res, nil
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(resp.Messages))
		for i, m := range resp.Messages {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body}
		}
		sent, err := c.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(c.Res.QueueURL), Entries: entries})
		if err != nil {
			// Nothing is deleted: the messages reappear in the DLQ.
			return res, fmt.Errorf("sending to the ops queue (nothing deleted from the DLQ): %w", err)
		}
		var del []types.DeleteMessageBatchRequestEntry
		for _, ok := range sent.Successful {
			i, _ := strconv.Atoi(aws.ToString(ok.Id))
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: ok.Id, ReceiptHandle: resp.Messages[i].ReceiptHandle})
		}
		if len(del) > 0 {
			out, err := c.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.Res.DLQURL), Entries: del})
			if err != nil {
				res.Duplicated += len(del)
				return res, fmt.Errorf("deleting moved messages from the DLQ (%d now in both queues): %w", len(del), err)
			}
			res.Moved += len(out.Successful)
			res.Duplicated += len(out.Failed)
		}
		if len(sent.Failed) > 0 {
			return res, fmt.Errorf("%d messages could not be sent to the ops queue and stay in the DLQ: %s", len(sent.Failed), aws.ToString(sent.Failed[0].Message))
		}
	}
}
