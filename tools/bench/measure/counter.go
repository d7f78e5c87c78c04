package measure

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts AWS SDK calls by service, operation and target, as an SDK
// middleware (APIOptions). Each call is counted once, in the Initialize step,
// whatever the SDK's retries of it (moto never throttles, so the twin makes
// none).
//
// Besides calls it keeps what the bill is made of: SQS requests counted in
// 64 KB chunks of payload, messages per call, ReceiveMessage calls that came
// back empty, and DynamoDB write request units of the items written.
//
// internal/dev/faults.Counter counts calls and attempts by service and
// operation; this one also keeps the target (which queue, which key prefix),
// to tell the pipeline's calls from the waiter's, and the billing units.
type Counter struct {
	mu       sync.Mutex
	counts   map[Call]*Tally
	attempts int64
}

// Call names what is counted: a service ("SQS", "S3", "DynamoDB"), an
// operation ("SendMessageBatch") and a target: the queue's name, the bucket
// and first key segment ("bucket/batches/"), or the table.
type Call struct {
	Service, Operation, Target string
}

func (c Call) String() string { return c.Service + "." + c.Operation + " " + c.Target }

// Tally is what was counted for one Call.
type Tally struct {
	Calls   int64 // API calls
	Errors  int64 // calls that failed
	Empty   int64 // ReceiveMessage calls that returned no message
	Entries int64 // messages sent, received or deleted; items written
	Chunks  int64 // SQS billing units: 64 KB chunks of payload, at least 1 a call
	WRU     int64 // DynamoDB write request units of the items (base table only)
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{counts: map[Call]*Tally{}} }

// Middleware adds the counter to an SDK client's stack: pass it in
// aws.Config.APIOptions or local.Options.APIOptions.
func (c *Counter) Middleware(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("memo/bench.Counter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			c.record(middleware.GetServiceID(ctx), middleware.GetOperationName(ctx), in.Parameters, out.Result, err)
			return out, md, err
		}), middleware.After); err != nil {
		return err
	}
	// The end of the finalize step runs once per HTTP attempt (after the
	// retry middleware): the attempts are what AWS bills.
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("memo/bench.CounterAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.attempts++
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// Attempts is the number of HTTP attempts of every call counted: more than
// the calls only if the SDK retried.
func (c *Counter) Attempts() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts
}

// Reset forgets everything counted so far.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[Call]*Tally{}
	c.attempts = 0
}

// Snapshot returns a copy of the counts.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(Counts, len(c.counts))
	for k, v := range c.counts {
		out[k] = *v
	}
	return out
}

func (c *Counter) record(service, op string, params, result any, err error) {
	call := Call{Service: service, Operation: op, Target: target(params)}
	t := Tally{Calls: 1}
	if err != nil {
		t.Errors = 1
	}
	t.Entries, t.Chunks, t.Empty, t.WRU = units(params, result, err)
	if service != "SQS" {
		t.Chunks = 0 // a billing unit of SQS only
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := c.counts[call]
	if sum == nil {
		sum = &Tally{}
		c.counts[call] = sum
	}
	sum.Calls += t.Calls
	sum.Errors += t.Errors
	sum.Empty += t.Empty
	sum.Entries += t.Entries
	sum.Chunks += t.Chunks
	sum.WRU += t.WRU
}

// target is the queue, bucket/prefix or table a call is about.
func target(params any) string {
	switch p := params.(type) {
	case *sqs.SendMessageInput:
		return queueName(p.QueueUrl)
	case *sqs.SendMessageBatchInput:
		return queueName(p.QueueUrl)
	case *sqs.ReceiveMessageInput:
		return queueName(p.QueueUrl)
	case *sqs.DeleteMessageInput:
		return queueName(p.QueueUrl)
	case *sqs.DeleteMessageBatchInput:
		return queueName(p.QueueUrl)
	case *sqs.GetQueueAttributesInput:
		return queueName(p.QueueUrl)
	case *sqs.ChangeMessageVisibilityInput:
		return queueName(p.QueueUrl)
	case *sqs.ChangeMessageVisibilityBatchInput:
		return queueName(p.QueueUrl)
	case *s3.GetObjectInput:
		return objectPrefix(p.Bucket, p.Key)
	case *s3.PutObjectInput:
		return objectPrefix(p.Bucket, p.Key)
	case *s3.HeadObjectInput:
		return objectPrefix(p.Bucket, p.Key)
	case *dynamodb.PutItemInput:
		return aws.ToString(p.TableName)
	case *dynamodb.BatchWriteItemInput:
		names := make([]string, 0, len(p.RequestItems))
		for name := range p.RequestItems {
			names = append(names, name)
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	case *dynamodb.QueryInput:
		return aws.ToString(p.TableName) + "/" + aws.ToString(p.IndexName)
	case *dynamodb.BatchGetItemInput:
		names := make([]string, 0, len(p.RequestItems))
		for name := range p.RequestItems {
			names = append(names, name)
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	return ""
}

func queueName(url *string) string {
	u := aws.ToString(url)
	return u[strings.LastIndexByte(u, '/')+1:]
}

func objectPrefix(bucket, key *string) string {
	k := aws.ToString(key)
	if i := strings.IndexByte(k, '/'); i >= 0 {
		k = k[:i+1]
	}
	return aws.ToString(bucket) + "/" + k
}

// sqsChunk is the payload size SQS bills as one request.
const sqsChunk = 64 << 10

func chunks(bytes int) int64 {
	if bytes <= 0 {
		return 1
	}
	return int64((bytes + sqsChunk - 1) / sqsChunk)
}

// units returns the entries, SQS chunks, empty receives and WRUs of a call.
func units(params, result any, err error) (entries, chunkCount, empty, wru int64) {
	switch p := params.(type) {
	case *sqs.SendMessageInput:
		return 1, chunks(len(aws.ToString(p.MessageBody))), 0, 0
	case *sqs.SendMessageBatchInput:
		n := 0
		for _, e := range p.Entries {
			n += len(aws.ToString(e.MessageBody))
		}
		return int64(len(p.Entries)), chunks(n), 0, 0
	case *sqs.ReceiveMessageInput:
		r, _ := result.(*sqs.ReceiveMessageOutput)
		if r == nil || err != nil {
			return 0, 1, 0, 0
		}
		n := 0
		for _, m := range r.Messages {
			n += len(aws.ToString(m.Body))
		}
		if len(r.Messages) == 0 {
			empty = 1
		}
		return int64(len(r.Messages)), chunks(n), empty, 0
	case *sqs.DeleteMessageBatchInput:
		return int64(len(p.Entries)), 1, 0, 0
	case *sqs.DeleteMessageInput:
		return 1, 1, 0, 0
	case *dynamodb.PutItemInput:
		return 1, 0, 0, writeUnits(p.Item)
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range p.RequestItems {
			for _, r := range reqs {
				entries++
				if r.PutRequest != nil {
					wru += writeUnits(r.PutRequest.Item)
				} else {
					wru++ // a delete costs one WRU per KB of the deleted item
				}
			}
		}
		return entries, 0, 0, wru
	}
	return 0, 1, 0, 0
}

// writeUnits is the WRUs DynamoDB charges for writing item: one per KB,
// rounded up. ItemSize follows DynamoDB's documented sizing.
func writeUnits(item map[string]dtypes.AttributeValue) int64 {
	return int64((ItemSize(item) + 1023) / 1024)
}

// ItemSize is an item's size as DynamoDB counts it: the UTF-8 lengths of
// attribute names and string values, about half the significant digits of a
// number plus one byte, one byte for a boolean or null.
func ItemSize(item map[string]dtypes.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v dtypes.AttributeValue) int {
	switch v := v.(type) {
	case *dtypes.AttributeValueMemberS:
		return len(v.Value)
	case *dtypes.AttributeValueMemberN:
		digits := 0
		for _, r := range strings.TrimLeft(v.Value, "-0.") {
			if r >= '0' && r <= '9' {
				digits++
			}
			if r == 'e' || r == 'E' {
				break
			}
		}
		return (digits+1)/2 + 1
	case *dtypes.AttributeValueMemberB:
		return len(v.Value)
	case *dtypes.AttributeValueMemberBOOL, *dtypes.AttributeValueMemberNULL:
		return 1
	case *dtypes.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += len(k) + valueSize(e) + 1
		}
		return n
	case *dtypes.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	}
	return 1
}

// Counts is a snapshot of a Counter.
type Counts map[Call]Tally

// Sum adds up the tallies of the calls that match.
func (cs Counts) Sum(match func(Call) bool) Tally {
	var s Tally
	for c, t := range cs {
		if match(c) {
			s.Calls += t.Calls
			s.Errors += t.Errors
			s.Empty += t.Empty
			s.Entries += t.Entries
			s.Chunks += t.Chunks
			s.WRU += t.WRU
		}
	}
	return s
}

// Op matches calls of one service and operation on one target ("" for any
// target): a queue name, "bucket/prefix/" or a table name.
func Op(service, op, target string) func(Call) bool {
	return func(c Call) bool {
		return c.Service == service && c.Operation == op && (target == "" || c.Target == target)
	}
}

// Any matches any call of the given matchers.
func Any(ms ...func(Call) bool) func(Call) bool {
	return func(c Call) bool {
		for _, m := range ms {
			if m(c) {
				return true
			}
		}
		return false
	}
}

// String lists the counts, one call per line, for a log.
func (cs Counts) String() string {
	keys := make([]Call, 0, len(cs))
	for k := range cs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var b strings.Builder
	for _, k := range keys {
		t := cs[k]
		fmt.Fprintf(&b, "%s calls=%d entries=%d empty=%d chunks=%d wru=%d errors=%d\n", k, t.Calls, t.Entries, t.Empty, t.Chunks, t.WRU, t.Errors)
	}
	return b.String()
}
