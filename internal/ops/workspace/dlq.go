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

// Queue names one of the queues where failed work waits: the ops DLQ, the
// chunk DLQ, or the splitter's on-failure destination.
type Queue string

const (
	QueueOps           Queue = "ops"            // memo-<ws>-ops-dlq: op messages
	QueueChunks        Queue = "chunks"         // memo-<ws>-chunks-dlq: chunk tasks
	QueueSplitFailures Queue = "split-failures" // memo-<ws>-split-failures: Lambda's records
)

// Queues lists the queues memo dlq reads, in the order of its help.
var Queues = []Queue{QueueOps, QueueChunks, QueueSplitFailures}

// ParseQueue reads a queue's name as memo dlq --queue takes it.
func ParseQueue(s string) (Queue, error) {
	for _, q := range Queues {
		if string(q) == s {
			return q, nil
		}
	}
	return "", fmt.Errorf("unknown queue %q: want ops, chunks or split-failures", s)
}

// url is the queue's URL.
func (c *Client) url(q Queue) string {
	switch q {
	case QueueChunks:
		return c.Res.ChunkDLQURL
	case QueueSplitFailures:
		return c.Res.SplitFailuresURL
	default:
		return c.Res.DLQURL
	}
}

// DLQMessage is one message found in the dead-letter queue.
type DLQMessage struct {
	ID   string `json:"id"`
	Body string `json:"body"`
	// ReceiveCount is SQS's receive count before this peek: the receives
	// from the ops queue plus any earlier peeks of the DLQ.
	ReceiveCount int       `json:"receive_count"`
	SentAt       time.Time `json:"sent_at"`
	// One of Decoded (a pack of ops, in the ops DLQ), Chunk (a chunk task, in the
	// chunk DLQ) and SplitFailure (a record in the split-failures queue) is
	// set; otherwise DecodeError says why the body is undecodable.
	Decoded      *record.Message `json:"decoded,omitempty"`
	Chunk        *ChunkTask      `json:"chunk_task,omitempty"`
	SplitFailure *SplitFailure   `json:"split_failure,omitempty"`
	DecodeError  string          `json:"decode_error,omitempty"`
}

// ChunkTask is a chunk task of the chunk DLQ with what its plan says of
// the chunk: its ops and byte range (when the plan could be read).
type ChunkTask struct {
	record.ChunkTask
	// Ops, Offset and Length come from the plan; PlanError says why they
	// are missing.
	Ops       int    `json:"ops,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
	Length    int64  `json:"length,omitempty"`
	PlanError string `json:"plan_error,omitempty"`
}

// How a peek reads a queue. SQS promises little that a count or one
// answer could stand on ("Amazon SQS short and long polling", Amazon SQS
// Developer Guide): a short poll "samples a subset of servers" and with
// few messages "you might not receive any messages in a particular
// ReceiveMessage response", so a peek long-polls, which "queries all of
// the servers", and ends only after peekEmpties empty answers in a row.
// Peeked messages are hidden while the peek runs, and a large queue cannot
// be swept whole: more than about 120,000 messages in flight answer
// OverLimit ("Amazon SQS message quotas"), every receive counts toward the
// message's receive count, and a message hidden for peekVisibility comes
// back while the sweep still runs. So a peek reads at most peekMax
// messages for at most peekTime, and says when it stopped short
// (PartialPeekError): the caller then knows how many it did not read.
const (
	peekVisibility = 30 // seconds
	peekWait       = 1  // seconds of long polling a receive (any wait > 0 queries all servers)
	peekEmpties    = 2
	peekMax        = 10_000
	peekTime       = 20 * time.Second // < peekVisibility: no message is read twice
)

// PartialPeekError says that a peek read only part of a queue.
type PartialPeekError struct {
	Read int // distinct messages read
	// Depth is the queue's approximate depth (visible and in flight) when
	// the peek stopped: an estimate, SQS's counts lag.
	Depth int
}

func (e *PartialPeekError) Error() string {
	return fmt.Sprintf("the queue holds about %d messages; memo read %d of them (a peek reads at most %d, for at most %v)", e.Depth, e.Read, peekMax, peekTime)
}

// PeekDLQ lists the messages in the DLQ without removing them. Receiving
// hides a message for a while and counts as a receive on the DLQ (which has
// no redrive of its own), so the messages are made visible again at the end.
func (c *Client) PeekDLQ(ctx context.Context) ([]DLQMessage, error) {
	return c.Peek(ctx, QueueOps)
}

// Peek lists the messages of queue q without removing them, as PeekDLQ
// does, each decoded as what that queue holds. The chunk tasks get their
// chunk's ops and byte range from their plan (one GET per plan).
func (c *Client) Peek(ctx context.Context, q Queue) ([]DLQMessage, error) {
	msgs, err := c.peek(ctx, q)
	if err != nil || q != QueueChunks {
		return msgs, err
	}
	plans := map[string]*record.Plan{}
	planErrs := map[string]error{}
	for _, m := range msgs {
		t := m.Chunk
		if t == nil {
			continue
		}
		k := t.Bucket + "/" + t.Plan
		if _, ok := plans[k]; !ok && planErrs[k] == nil {
			body, err := c.Objects.Get(ctx, t.Bucket, t.Plan)
			if err == nil {
				var p record.Plan
				if p, err = record.DecodePlan(body); err == nil {
					plans[k] = &p
				}
			}
			if err != nil {
				planErrs[k] = err
			}
		}
		switch p := plans[k]; {
		case p == nil:
			t.PlanError = fmt.Sprint(planErrs[k])
		case t.Chunk >= len(p.Chunks) || p.Batch != t.Batch:
			t.PlanError = fmt.Sprintf("the plan of %s has %d chunks", p.Batch, len(p.Chunks))
		default:
			ch := p.Chunks[t.Chunk]
			t.Ops, t.Offset, t.Length = ch.Count, ch.Offset, ch.Length
		}
	}
	return msgs, nil
}

func (c *Client) peek(ctx context.Context, q Queue) ([]DLQMessage, error) {
	url := c.url(q)
	var out []DLQMessage
	var handles []string
	seen := map[string]bool{}
	defer func() { c.release(context.WithoutCancel(ctx), url, handles) }()
	start := time.Now()
	for empties := 0; empties < peekEmpties; {
		if len(seen) >= peekMax || time.Since(start) >= peekTime {
			v, f, err := c.QueueDepth(ctx, url)
			if err != nil {
				return out, err
			}
			return out, &PartialPeekError{Read: len(seen), Depth: max(v+f, len(seen))}
		}
		resp, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           peekVisibility,
			WaitTimeSeconds:             peekWait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return nil, fmt.Errorf("reading the queue %s: %w", url, err)
		}
		if len(resp.Messages) == 0 {
			empties++
			continue
		}
		empties = 0
		for _, m := range resp.Messages {
			handles = append(handles, aws.ToString(m.ReceiptHandle))
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, toDLQMessage(m, q))
		}
	}
	return out, nil
}

func toDLQMessage(m types.Message, q Queue) DLQMessage {
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
	var err error
	switch q {
	case QueueChunks:
		var t record.ChunkTask
		if t, err = record.DecodeChunkTask(d.Body); err == nil {
			d.Chunk = &ChunkTask{ChunkTask: t}
		}
	case QueueSplitFailures:
		var f SplitFailure
		if f, err = DecodeSplitFailure(d.Body); err == nil {
			d.SplitFailure = &f
		}
	default:
		var msg record.Message
		if msg, err = record.DecodeMessage(d.Body); err == nil {
			d.Decoded = &msg
		}
	}
	if err != nil {
		d.DecodeError = err.Error()
	}
	return d
}

// release makes received messages of the queue at url visible again.
func (c *Client) release(ctx context.Context, url string, handles []string) {
	for len(handles) > 0 {
		n := min(len(handles), 10)
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, n)
		for i, h := range handles[:n] {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0}
		}
		// Best effort: a message that stays hidden reappears after
		// peekVisibility seconds anyway.
		_, _ = c.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
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

// OpCount is the number of ops of a DLQ message: its pack's, or 1 for a
// message that cannot be decoded (it holds at least one).
func (m DLQMessage) OpCount() int {
	if m.Decoded != nil {
		return len(m.Decoded.Ops)
	}
	return 1
}

func undecodable(msgs []DLQMessage) int {
	n := 0
	for _, m := range msgs {
		if m.Decoded == nil {
			n++
		}
	}
	return n
}

// unreadOps estimates the ops of the messages a partial peek did not read:
// as many per message as the largest pack read, at least one.
func unreadOps(msgs []DLQMessage, partial *PartialPeekError) int {
	if partial == nil {
		return 0
	}
	per := 1
	for _, m := range msgs {
		per = max(per, m.OpCount())
	}
	return max(partial.Depth-partial.Read, 0) * per
}
