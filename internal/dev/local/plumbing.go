package local

// This file is the plumbing that AWS itself provides and the twin has to
// emulate: the splitter's asynchronous invocation (S3 delivering
// ObjectCreated notifications to it, and Invoke calls of type Event, see
// lambdaapi.go), and the SQS event source mapping polling the ops queue
// for the compute function. Both follow AWS's documented semantics;
// nothing here is memo's own logic.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/memohq/memo/internal/dev/weak"
)

// asyncRetries is how often Lambda retries a failed asynchronous invocation
// (S3 notifications are asynchronous): twice.
const asyncRetries = 2

// s3Delivery is the splitter's asynchronous invocation: it delivers the
// events of the twin's notification queue to the splitter, one event per
// invocation, retrying a failed invocation twice as Lambda's asynchronous
// invocation does (AWS waits about a minute, then two; the twin waits a
// second, then two), and records an event whose invocations all failed in
// the on-failure destination. The queue holds S3's notifications (as moto
// writes them) and the payloads of Invoke calls of type Event (marked with
// the invokeAttribute message attribute, and passed to the splitter as they
// are): "Lambda adds events to a queue before sending them to your
// function" ("Invoke", AWS Lambda API Reference), whoever sent them.
type s3Delivery struct {
	sqs *sqs.Client
	// s3, when set, fills in the versionId moto leaves out (withVersions).
	s3       *s3.Client
	queueURL string
	splitter Invoker
	// failuresURL is the splitter's on-failure destination: an event whose
	// invocations all failed is recorded there, as Lambda does.
	failuresURL string
	functionARN string
	timeout     time.Duration
	log         *slog.Logger
	busy        *atomic.Int64
	// reorder, when above 1, holds up to that many notifications (for at
	// most reorderWait after the first) and delivers them newest first.
	// S3 does not promise any order ("Event notifications are not
	// guaranteed to arrive in the same order that the events occurred",
	// Amazon S3 User Guide, "Event message structure"); tests use this to
	// show that the order of delivery does not decide the results.
	reorder int
	// uploads ranks the events of one key and content (uploadRanks).
	uploads uploadRanks
	// weak, when set, delivers some notifications again, late
	// (weak.Config.DuplicateNotifications).
	weak *weak.Promises
}

// reorderWait bounds how long a reordering delivery holds notifications.
const reorderWait = 3 * time.Second

func (d *s3Delivery) run(ctx context.Context) {
	for ctx.Err() == nil {
		msgs := d.receive(ctx)
		for _, m := range msgs {
			if _, ok := m.MessageAttributes[invokeAttribute]; !ok {
				if payload, skip, err := S3EventPayload([]byte(aws.ToString(m.Body))); err == nil && !skip {
					d.uploads.note(payload)
				}
			}
		}
		for i := range msgs {
			m := msgs[i]
			if d.reorder > 1 {
				m = msgs[len(msgs)-1-i]
			}
			d.busy.Add(1)
			if _, ok := m.MessageAttributes[invokeAttribute]; ok {
				d.invoke(ctx, []byte(aws.ToString(m.Body)))
			} else {
				d.deliver(ctx, aws.ToString(m.Body))
				d.again(ctx, aws.ToString(m.Body))
			}
			_, _ = d.sqs.DeleteMessage(context.WithoutCancel(ctx), &sqs.DeleteMessageInput{QueueUrl: aws.String(d.queueURL), ReceiptHandle: m.ReceiptHandle})
			d.busy.Add(-1)
		}
	}
}

// receive reads notifications from the twin's notification queue: what one
// receive returns, or with reorder, until reorder of them are held or
// reorderWait has passed since the first.
func (d *s3Delivery) receive(ctx context.Context) []types.Message {
	var msgs []types.Message
	var first time.Time
	for ctx.Err() == nil {
		out, err := d.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(d.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 900,
			MessageAttributeNames: []string{invokeAttribute},
		})
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("twin: reading S3 notifications", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		for _, m := range out.Messages {
			if _, invoked := m.MessageAttributes[invokeAttribute]; !invoked {
				if _, skip, _ := S3EventPayload([]byte(aws.ToString(m.Body))); skip {
					// s3:TestEvent is not an upload: it is not held.
					_, _ = d.sqs.DeleteMessage(context.WithoutCancel(ctx), &sqs.DeleteMessageInput{QueueUrl: aws.String(d.queueURL), ReceiptHandle: m.ReceiptHandle})
					continue
				}
			}
			if len(msgs) == 0 {
				first = time.Now()
			}
			msgs = append(msgs, m)
		}
		if d.reorder <= 1 || len(msgs) >= d.reorder || (len(msgs) > 0 && time.Since(first) >= reorderWait) {
			break
		}
	}
	return msgs
}

func (d *s3Delivery) deliver(ctx context.Context, body string) {
	payload, skip, err := S3EventPayload([]byte(body))
	if err != nil {
		d.log.Warn("twin: undecodable S3 notification", "error", err)
		return
	}
	if skip {
		return // s3:TestEvent, sent when a notification is configured
	}
	d.invoke(ctx, d.withVersions(ctx, payload))
}

// again queues a notification a second time, up to NotificationDelay
// later, at the weak promises' DuplicateNotifications rate: S3 delivers at
// least once, sometimes a minute or more late (weak.Config).
func (d *s3Delivery) again(ctx context.Context, body string) {
	if d.weak == nil || !d.weak.Draw(d.weak.Config().DuplicateNotifications) {
		return
	}
	delay := int32(d.weak.Config().NotificationDelay / time.Second)
	_, err := d.sqs.SendMessage(context.WithoutCancel(ctx), &sqs.SendMessageInput{QueueUrl: aws.String(d.queueURL), MessageBody: aws.String(body), DelaySeconds: min(delay, 900)})
	if err != nil {
		d.log.Warn("twin: queueing a duplicate notification", "error", err)
	}
}

// invokeAttribute marks a message of the notification queue that an
// Invoke call queued: its body is the payload itself.
const invokeAttribute = "memo-twin-invoke"

// queueInvoke queues an asynchronous invocation of the splitter with
// payload, as Lambda's Invoke API does for InvocationType Event.
func (d *s3Delivery) queueInvoke(ctx context.Context, payload []byte) error {
	_, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(d.queueURL), MessageBody: aws.String(string(payload)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			invokeAttribute: {DataType: aws.String("String"), StringValue: aws.String("Event")},
		},
	})
	return err
}

// invoke runs one asynchronous invocation: the first attempt, the two
// retries, and the record of a failure. With the weak promises, the
// retries come AsyncMinute and 2 AsyncMinutes late, and a throttled attempt
// (weak.Config.Throttles) is retried with a backoff without counting as an
// attempt, until the event's maximum age (six hours, 360 AsyncMinutes).
func (d *s3Delivery) invoke(ctx context.Context, payload []byte) {
	minute := time.Second
	if d.weak != nil && d.weak.Config().AsyncMinute > 0 {
		minute = d.weak.Config().AsyncMinute
	}
	start := time.Now()
	backoff := max(minute/60, time.Millisecond)
	var err error
	for attempt := 0; attempt <= asyncRetries; {
		if d.weak != nil && d.weak.Throttle() {
			if time.Since(start) >= 360*minute {
				err = errors.New("TooManyRequestsException: Rate Exceeded (the event reached its maximum age of six hours, twin time)")
				break
			}
			d.log.Warn("twin: splitter invocation throttled (429); the event goes back to the queue", "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 5*minute)
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, d.timeout)
		_, err = d.splitter.Invoke(ictx, payload)
		cancel()
		if err == nil {
			return
		}
		d.log.Warn("twin: splitter invocation failed", "attempt", attempt+1, "error", err)
		attempt++
		if attempt <= asyncRetries && !sleep(ctx, time.Duration(attempt)*minute) {
			return
		}
	}
	d.log.Error("twin: event recorded in the split-failures queue after the asynchronous retries", "error", err)
	d.recordFailure(ctx, payload, err)
}

// recordFailure sends the record Lambda sends to an asynchronous
// invocation's on-failure destination ("Capturing records of Lambda
// asynchronous invocations", AWS Lambda Developer Guide): the event as
// requestPayload, the function's error as responsePayload.
func (d *s3Delivery) recordFailure(ctx context.Context, payload []byte, ferr error) {
	if d.failuresURL == "" {
		return
	}
	resp := map[string]string{"errorType": "Unhandled", "errorMessage": fmt.Sprint(ferr)}
	var fe *FunctionError
	if errors.As(ferr, &fe) {
		resp = map[string]string{"errorType": fe.Type, "errorMessage": fe.Message}
	}
	rec, err := json.Marshal(map[string]any{
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"requestContext": map[string]any{
			"functionArn": d.functionARN + ":$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": asyncRetries + 1,
		},
		"requestPayload":  json.RawMessage(payload),
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"responsePayload": resp,
	})
	if err == nil {
		_, err = d.sqs.SendMessage(context.WithoutCancel(ctx), &sqs.SendMessageInput{QueueUrl: aws.String(d.failuresURL), MessageBody: aws.String(string(rec))})
	}
	if err != nil {
		d.log.Error("twin: recording a failed split", "error", err)
	}
}

// withVersions adds the versionId that S3 puts in the events of a versioned
// bucket and moto 5.2.1 leaves out. The event names the upload by key and
// ETag only, and two uploads of identical content share an ETag, so the
// version is the one of the same rank: the n-th event of a key and ETag in
// sequencer order (the order S3 accepted the PUTs, S3EventPayload) is the
// n-th oldest version of the key with that ETag. With it each upload is
// its own batch and the splitter reads the upload the event announced even
// after a newer upload of the key, as on AWS. A record whose version cannot
// be found is left as it is (the splitter then reads the key's object if
// its ETag still matches).
func (d *s3Delivery) withVersions(ctx context.Context, payload []byte) []byte {
	if d.s3 == nil {
		return payload
	}
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return payload
	}
	for _, r := range ev.Records {
		name, key, etag, seq, obj := eventUpload(r)
		if obj == nil || name == "" || etag == "" {
			continue
		}
		if v, _ := obj["versionId"].(string); v != "" {
			continue
		}
		rank := d.uploads.rank(name, key, etag, seq)
		out, err := d.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(name), Prefix: aws.String(key)})
		if err != nil {
			d.log.Warn("twin: finding the version of an upload", "key", key, "error", err)
			continue
		}
		var same []string // newest first, as S3 lists them
		for _, v := range out.Versions {
			if aws.ToString(v.Key) == key && strings.Trim(aws.ToString(v.ETag), `"`) == etag && aws.ToString(v.VersionId) != "null" {
				same = append(same, aws.ToString(v.VersionId))
			}
		}
		switch {
		case len(same) == 0:
		case rank >= 0 && rank < len(same):
			obj["versionId"] = same[len(same)-1-rank]
		default:
			obj["versionId"] = same[0]
		}
	}
	b, err := json.Marshal(map[string]any{"Records": ev.Records})
	if err != nil {
		return payload
	}
	return b
}

// eventUpload reads a record's bucket, decoded key, ETag (unquoted) and
// sequencer, and returns its object map to fill in.
func eventUpload(r map[string]any) (bucket, key, etag, seq string, obj map[string]any) {
	s3m, _ := r["s3"].(map[string]any)
	b, _ := s3m["bucket"].(map[string]any)
	obj, _ = s3m["object"].(map[string]any)
	if obj == nil || b == nil {
		return "", "", "", "", nil
	}
	bucket, _ = b["name"].(string)
	rawKey, _ := obj["key"].(string)
	etag, _ = obj["eTag"].(string)
	seq, _ = obj["sequencer"].(string)
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		return "", "", "", "", nil
	}
	return bucket, key, strings.Trim(etag, `"`), seq, obj
}

// uploadRanks remembers the sequencers of the events seen per key and
// ETag, so that an event's rank among the uploads of identical content
// does not depend on the order of delivery (which S3 does not promise):
// run notes every event it received before delivering any of them.
type uploadRanks struct {
	mu   sync.Mutex
	seqs map[string][]string // bucket/key/etag -> distinct sequencers, sorted
}

func (u *uploadRanks) note(payload []byte) {
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return
	}
	for _, r := range ev.Records {
		if name, key, etag, seq, obj := eventUpload(r); obj != nil && seq != "" {
			u.rank(name, key, etag, seq)
		}
	}
}

// rank notes seq and returns its rank among the sequencers noted for the
// same key and ETag (-1 without one). The twin's sequencers have one
// length (S3EventPayload), so they compare as strings.
func (u *uploadRanks) rank(bucket, key, etag, seq string) int {
	if seq == "" {
		return -1
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seqs == nil {
		u.seqs = map[string][]string{}
	}
	k := bucket + "/" + key + "\x00" + etag
	s := u.seqs[k]
	i, found := slices.BinarySearch(s, seq)
	if !found {
		s = slices.Insert(s, i, seq)
		u.seqs[k] = s
	}
	return i
}

// S3EventPayload turns an S3 notification as an emulator writes it into the
// event Lambda would deliver. moto writes eventTime without a zone, which
// events.S3Event refuses: it is taken as UTC. skip is true for s3:TestEvent.
//
// moto 5.2.1 writes no sequencer. S3's sequencer orders the events of one
// key ("Event message structure", Amazon S3 User Guide), and memo's stamp
// uses it (record.NewStamp), so the twin makes one as S3 would, from the
// order S3 accepted the uploads: moto takes eventTime from its clock while
// it handles the PUT, and the twin's proxy passes one request at a time,
// so moto's microseconds follow acceptance order. The sequencer is those
// microseconds since the epoch in hex (16 digits). It depends on the event
// alone, never on the order of delivery. Where the twin approximates: two
// PUTs within one microsecond would tie, and moto's clock (local, taken as
// UTC) is not S3's.
func S3EventPayload(body []byte) (payload []byte, skip bool, err error) {
	var probe struct {
		Event   string           `json:"Event"`
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, false, err
	}
	if probe.Event == "s3:TestEvent" {
		return nil, true, nil
	}
	if len(probe.Records) == 0 {
		return nil, false, errors.New("notification without records")
	}
	for _, r := range probe.Records {
		ts, _ := r["eventTime"].(string)
		t, ok := parseTime(ts)
		if ok {
			r["eventTime"] = t.Format(time.RFC3339Nano)
		}
		if s3, _ := r["s3"].(map[string]any); s3 != nil {
			if obj, _ := s3["object"].(map[string]any); obj != nil {
				if seq, _ := obj["sequencer"].(string); seq == "" && ok {
					obj["sequencer"] = fmt.Sprintf("%016X", t.UnixMicro())
				}
			}
		}
	}
	payload, err = json.Marshal(map[string]any{"Records": probe.Records})
	if err != nil {
		return nil, false, err
	}
	var ev events.S3Event // check that Lambda's type accepts it
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, false, fmt.Errorf("not an S3 event: %w", err)
	}
	return payload, false, nil
}

// parseTime reads an eventTime with or without a zone (none: UTC).
func parseTime(ts string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, ts); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// eventSourceMapping emulates Lambda's SQS event source mapping with
// ReportBatchItemFailures: pollers gather up to BatchSize messages or until
// the batching window closes, invoke the function once per batch, delete
// the messages that succeeded and leave the failures to reappear after the
// visibility timeout (SQS then redrives them to the DLQ after
// maxReceiveCount receives). If the function errors, or its response is
// invalid, no message is deleted: the whole batch is retried. The twin runs
// two: the ops queue's for compute, the chunk queue's for the splitter
// (compute is then the splitter's invoker; log lines name the queue).
type eventSourceMapping struct {
	sqs       *sqs.Client
	queueURL  string
	queueARN  string
	region    string
	compute   Invoker
	batchSize int
	window    time.Duration
	timeout   time.Duration
	log       *slog.Logger
	busy      *atomic.Int64
	stats     *Stats
	// weak, when set, throttles some invocations (weak.Config.Throttles):
	// the batch is left for SQS, as the mapping leaves it on a 429.
	weak *weak.Promises
}

// Stats counts what the twin's plumbing did.
type Stats struct {
	Invocations  atomic.Int64
	Messages     atomic.Int64
	ItemFailures atomic.Int64
	BatchErrors  atomic.Int64
	// Throttled counts the batches left to SQS because the function was
	// throttled (weak.Config.Throttles).
	Throttled atomic.Int64
}

func (m *eventSourceMapping) poll(ctx context.Context) {
	for ctx.Err() == nil {
		msgs := m.gather(ctx)
		if len(msgs) == 0 {
			continue
		}
		m.busy.Add(1)
		m.process(ctx, msgs)
		m.busy.Add(-1)
	}
}

// gather receives until the batch is full or the window has passed since
// the first message arrived.
func (m *eventSourceMapping) gather(ctx context.Context) []types.Message {
	var msgs []types.Message
	var deadline time.Time
	for ctx.Err() == nil && len(msgs) < m.batchSize {
		wait := int32(1)
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			wait = 0 // keep polling without blocking until the window closes
		}
		out, err := m.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.queueURL),
			MaxNumberOfMessages:         int32(min(10, m.batchSize-len(msgs))),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("twin: polling a queue", "queue", m.queueURL, "error", err)
				sleep(ctx, 500*time.Millisecond)
			}
			break
		}
		if len(out.Messages) == 0 {
			if deadline.IsZero() {
				continue // nothing yet: keep long-polling
			}
			if !sleep(ctx, 50*time.Millisecond) {
				break
			}
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(m.window)
		}
		msgs = append(msgs, out.Messages...)
	}
	return msgs
}

func (m *eventSourceMapping) process(ctx context.Context, msgs []types.Message) {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, msg := range msgs {
		ev.Records[i] = events.SQSMessage{
			MessageId:      aws.ToString(msg.MessageId),
			ReceiptHandle:  aws.ToString(msg.ReceiptHandle),
			Body:           aws.ToString(msg.Body),
			Md5OfBody:      aws.ToString(msg.MD5OfBody),
			Attributes:     msg.Attributes,
			EventSource:    "aws:sqs",
			EventSourceARN: m.queueARN,
			AWSRegion:      m.region,
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		m.log.Error("twin: encoding SQS event", "error", err)
		return
	}
	if m.weak != nil && m.weak.Throttle() {
		m.stats.Throttled.Add(1)
		m.log.Warn("twin: function throttled (429); the batch returns after the visibility timeout", "queue", m.queueURL, "messages", len(msgs))
		return
	}
	m.stats.Invocations.Add(1)
	m.stats.Messages.Add(int64(len(msgs)))
	ictx, cancel := context.WithTimeout(ctx, m.timeout)
	out, err := m.compute.Invoke(ictx, payload)
	cancel()
	if err != nil {
		m.stats.BatchErrors.Add(1)
		m.log.Warn("twin: invocation failed; the whole batch will be retried", "queue", m.queueURL, "messages", len(msgs), "error", err)
		return
	}
	failed, err := ParseBatchResponse(out, ev)
	if err != nil {
		m.stats.BatchErrors.Add(1)
		m.log.Warn("twin: invalid partial batch response; the whole batch will be retried", "error", err)
		return
	}
	m.stats.ItemFailures.Add(int64(len(failed)))
	var del []types.DeleteMessageBatchRequestEntry
	for i, msg := range msgs {
		if !failed[aws.ToString(msg.MessageId)] {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
		}
	}
	for len(del) > 0 {
		n := min(len(del), 10)
		if _, err := m.sqs.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queueURL), Entries: del[:n]}); err != nil {
			m.log.Warn("twin: deleting processed messages (they will be redelivered)", "error", err)
		}
		del = del[n:]
	}
}

// ParseBatchResponse reads a partial batch response as the event source
// mapping does: an empty or null response means every message succeeded;
// an itemIdentifier that is empty or not in the batch makes the whole
// response invalid (the whole batch is then retried).
func ParseBatchResponse(out []byte, ev events.SQSEvent) (map[string]bool, error) {
	failed := map[string]bool{}
	out = bytes.TrimSpace(out)
	if len(out) == 0 || bytes.Equal(out, []byte("null")) {
		return failed, nil
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("response is not a batch response: %w", err)
	}
	in := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		in[r.MessageId] = true
	}
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == "" || !in[f.ItemIdentifier] {
			return nil, fmt.Errorf("itemIdentifier %q is not a message of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
