// Package weak makes AWS SDK calls answer the way AWS is allowed to, where
// moto (and an in-memory fake) is exact: it keeps AWS's weak promises, for
// tests and for `memo local --weak`. A Promises is an aws-sdk-go-v2
// middleware: add Promises.APIOption to a config's (or a client's)
// APIOptions. Each knob follows one sentence of AWS's documentation:
//
//   - EmptyShortPolls: a ReceiveMessage with WaitTimeSeconds 0 comes back
//     empty at this rate, whatever the queue holds. "With short polling,
//     ... Amazon SQS samples a subset of its servers ... If you have fewer
//     than 1,000 messages in your queue, you might not receive any
//     messages in a particular ReceiveMessage response" ("Amazon SQS short
//     and long polling", Amazon SQS Developer Guide). Long polls "query all
//     of the servers" and are left alone.
//   - CountLag: GetQueueAttributes answers each ApproximateNumberOf*
//     attribute as it was CountLag ago (0 before the first reading that
//     old). "may not achieve consistency until at least 1 minute after the
//     producers stop sending messages" (GetQueueAttributes, Amazon SQS API
//     Reference). Tests scale the minute down, and say so.
//   - LostDeletes: a DeleteMessage, or an entry of DeleteMessageBatch,
//     answers success at this rate without deleting: the message comes
//     back after its visibility timeout, a late duplicate delivery. "On
//     rare occasions, one of the servers that stores a copy of a message
//     might be unavailable when you receive or delete a message. If this
//     occurs, the copy isn't deleted on that unavailable server, and you
//     might get that message copy again when you receive messages" ("Amazon
//     SQS at-least-once delivery", Amazon SQS Developer Guide).
//   - MissingKeyForbidden: a GetObject or HeadObject of a missing key
//     answers 403 AccessDenied instead of 404, except under
//     ListablePrefixes. "If you don't have the s3:ListBucket permission,
//     Amazon S3 returns an HTTP status code 403 (Access Denied)" for a
//     missing object (GetObject, "Permissions", Amazon S3 API Reference);
//     memo's functions may list only some prefixes (Terraform's IAM).
//
// Duplicate and late S3 notifications, late asynchronous retries and
// throttled invocations are plumbing the twin emulates (internal/dev/local
// reads Config for them, see each field); they are not SDK calls.
//
// The random source is seeded: a sequential run is reproducible.
package weak

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Config sets the knobs; the zero value keeps every promise moto keeps.
type Config struct {
	EmptyShortPolls float64
	CountLag        time.Duration
	LostDeletes     float64
	// MissingKeyForbidden turns S3's 404 for a missing key into 403,
	// except for keys under ListablePrefixes.
	MissingKeyForbidden bool
	ListablePrefixes    []string
	// DuplicateNotifications is the rate at which the twin delivers an S3
	// notification a second time, up to NotificationDelay later: "Amazon
	// S3 event notifications are designed to be delivered at least once.
	// Typically, event notifications are delivered in seconds but can
	// sometimes take a minute or longer" ("Amazon S3 Event Notifications",
	// Amazon S3 User Guide). Scaled down on the twin.
	DuplicateNotifications float64
	NotificationDelay      time.Duration
	// Throttles is the rate at which the twin's plumbing finds the function
	// throttled (429 TooManyRequestsException: no concurrency left) instead
	// of running it.
	//   - The ops queue's event source mapping then leaves the batch it
	//     received: the messages return after the visibility timeout, their
	//     receive counts raised, and count toward maxReceiveCount. "set the
	//     source queue's visibility timeout to at least six times the
	//     configuration timeout on your function. The extra time allows
	//     Lambda to retry if your function is throttled while processing a
	//     previous batch" ("Creating and configuring an Amazon SQS event
	//     source mapping", AWS Lambda Developer Guide).
	//   - Asynchronous invocation (S3's notifications, Invoke of type
	//     Event) retries a throttled event without counting it among its two
	//     retries: "For throttling errors (429) and system errors
	//     (500-series), Lambda returns the event to the queue and attempts to
	//     run the function again for up to 6 hours by default. The retry
	//     interval increases exponentially from 1 second after the first
	//     attempt to a maximum of 5 minutes" ("How Lambda handles errors and
	//     retries with asynchronous invocation", AWS Lambda Developer Guide),
	//     on the twin's clock (AsyncMinute).
	Throttles float64
	// AsyncMinute is the twin's stand-in for a minute of asynchronous
	// invocation's clock: its retries of a failed invocation come 1 and 2
	// AsyncMinutes late ("with a one-minute wait between the first two
	// attempts, and two minutes between the second and third attempts",
	// same page), throttled events are retried after 1/60 of it doubling
	// to 5, for up to 360 (six hours). Zero keeps the twin's quick retries
	// (1 s and 2 s). Scaled down for tests: status.TwinFailedSettleAfter
	// must cover both retries.
	AsyncMinute time.Duration
	Seed        uint64
}

// Default is what `memo local --weak` and the tests turn on: every knob,
// with AWS's minutes scaled down (twin time): the count lag to 3 s, a
// minute of asynchronous invocation's retries to 2 s.
func Default() Config {
	return Config{
		EmptyShortPolls: 0.5, CountLag: 3 * time.Second, LostDeletes: 0.02,
		MissingKeyForbidden: true, ListablePrefixes: []string{"reports/"},
		DuplicateNotifications: 0.2, NotificationDelay: 2 * time.Second,
		Throttles: 0.05, AsyncMinute: 2 * time.Second,
	}
}

// Promises applies a Config to SDK calls.
type Promises struct {
	c   Config
	mu  sync.Mutex
	rnd *rand.Rand
	// readings keep each queue attribute's past values for CountLag.
	readings map[string][]reading
	Stats    Stats
}

type reading struct {
	at    time.Time
	value string
}

// Stats counts what the knobs did (Throttled: the twin's plumbing).
type Stats struct {
	EmptiedPolls, LaggedCounts, LostDeletes, Forbidden, Throttled atomic.Int64
}

func (s *Stats) add(f *atomic.Int64) { f.Add(1) }

// Throttle reports whether an invocation is throttled (Config.Throttles),
// and counts it.
func (p *Promises) Throttle() bool {
	if !p.Draw(p.c.Throttles) {
		return false
	}
	p.Stats.add(&p.Stats.Throttled)
	return true
}

// New returns a Promises with c's knobs.
func New(c Config) *Promises {
	return &Promises{c: c, rnd: rand.New(rand.NewPCG(c.Seed, 18)), readings: map[string][]reading{}}
}

// Config returns the knobs.
func (p *Promises) Config() Config { return p.c }

// Draw reports true with probability rate.
func (p *Promises) Draw(rate float64) bool {
	if rate <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64() < rate
}

// APIOption adds the knobs to a middleware stack.
func (p *Promises) APIOption(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("memo.weak.Calls", p.call), middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("memo.weak.MissingKey", p.missingKey), middleware.After)
}

func (p *Promises) call(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	switch params := in.Parameters.(type) {
	case *sqs.ReceiveMessageInput:
		if params.WaitTimeSeconds == 0 && p.Draw(p.c.EmptyShortPolls) {
			p.Stats.add(&p.Stats.EmptiedPolls)
			return middleware.InitializeOutput{Result: &sqs.ReceiveMessageOutput{}}, middleware.Metadata{}, nil
		}
	case *sqs.DeleteMessageInput:
		if p.Draw(p.c.LostDeletes) {
			p.Stats.add(&p.Stats.LostDeletes)
			return middleware.InitializeOutput{Result: &sqs.DeleteMessageOutput{}}, middleware.Metadata{}, nil
		}
	case *sqs.DeleteMessageBatchInput:
		if p.c.LostDeletes > 0 {
			return p.deleteBatch(ctx, params, in, next)
		}
	case *sqs.GetQueueAttributesInput:
		if p.c.CountLag > 0 {
			out, md, err := next.HandleInitialize(ctx, in)
			if res, ok := out.Result.(*sqs.GetQueueAttributesOutput); ok && err == nil {
				p.lag(*params.QueueUrl, res)
			}
			return out, md, err
		}
	}
	return next.HandleInitialize(ctx, in)
}

// deleteBatch deletes some entries for real and answers success for all.
func (p *Promises) deleteBatch(ctx context.Context, params *sqs.DeleteMessageBatchInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	var kept, lost []sqstypes.DeleteMessageBatchRequestEntry
	for _, e := range params.Entries {
		if p.Draw(p.c.LostDeletes) {
			lost = append(lost, e)
			p.Stats.add(&p.Stats.LostDeletes)
		} else {
			kept = append(kept, e)
		}
	}
	if len(lost) == 0 {
		return next.HandleInitialize(ctx, in)
	}
	res := &sqs.DeleteMessageBatchOutput{}
	var md middleware.Metadata
	if len(kept) > 0 {
		cp := *params
		cp.Entries = kept
		in.Parameters = &cp
		out, m, err := next.HandleInitialize(ctx, in)
		if err != nil {
			return out, m, err
		}
		res, md = out.Result.(*sqs.DeleteMessageBatchOutput), m
	}
	for _, e := range lost {
		res.Successful = append(res.Successful, sqstypes.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return middleware.InitializeOutput{Result: res}, md, nil
}

// lag replaces the approximate counts by those read CountLag ago.
func (p *Promises) lag(url string, res *sqs.GetQueueAttributesOutput) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, v := range res.Attributes {
		if !strings.HasPrefix(name, "ApproximateNumberOf") {
			continue
		}
		k := url + " " + name
		hist := append(p.readings[k], reading{now, v})
		old := "0"
		cut := 0
		for i, r := range hist {
			if now.Sub(r.at) >= p.c.CountLag {
				old, cut = r.value, i
			}
		}
		p.readings[k] = hist[cut:]
		if old != v {
			p.Stats.add(&p.Stats.LaggedCounts)
		}
		res.Attributes[name] = old
	}
}

// missingKey turns a 404 of GetObject or HeadObject into S3's 403.
func (p *Promises) missingKey(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if !p.c.MissingKeyForbidden || err != nil {
		return out, md, err
	}
	op := awsmiddleware.GetOperationName(ctx)
	if op != "GetObject" && op != "HeadObject" {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	req, rok := in.Request.(*smithyhttp.Request)
	if !ok || !rok || resp.StatusCode != http.StatusNotFound || p.listable(req.URL.Path) {
		return out, md, err
	}
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	p.Stats.add(&p.Stats.Forbidden)
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	if op == "HeadObject" {
		body = nil
	}
	forbidden := &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Header: http.Header{"Content-Type": {"application/xml"}, "Content-Length": {strconv.Itoa(len(body))}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: resp.Request}
	out.RawResponse = &smithyhttp.Response{Response: forbidden}
	return out, md, nil
}

// listable reports whether the request's key (path style /bucket/key, or
// virtual-hosted /key) is under one of ListablePrefixes.
func (p *Promises) listable(path string) bool {
	for _, pre := range p.c.ListablePrefixes {
		if strings.Contains(path, "/"+pre) {
			return true
		}
	}
	return false
}
