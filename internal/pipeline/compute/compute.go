// Package compute evaluates queued ops and stores their results. One SQS
// batch in, one partial batch response out: a message is reported as failed
// only when its result could not be stored (so SQS redelivers it, and
// redrives it to the DLQ after maxReceiveCount) or its body cannot be
// decoded. A result refused because the name holds a newer upload's result
// is superseded: final, counted, and its message answered. An op whose
// expression fails deterministically is stored as a result with status
// "error" and is not retried.
package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// ResultWriter stores results, one conditional write per result.
//
// The results table is a memo of the latest answer for each name: of two
// uploads that contain the same op name, the one S3 accepted later wins,
// whatever order they are processed in. The writer enforces that rule at
// the item, atomically (a DynamoDB condition expression, or the same test
// under a lock in the in-memory fake).
type ResultWriter interface {
	// Put stores r if the item of r.Name is absent, holds a result of the
	// same batch (a redelivery: the same value again, so it stays
	// idempotent), or holds a result with an older stamp (record.Stamp).
	// Otherwise nothing changes and the error wraps ErrSuperseded. Any
	// other error is a failure of the call (retry.IsPermanent says whether
	// retrying can help).
	Put(ctx context.Context, r record.Result) error
}

// ErrSuperseded says that the name holds a result of a newer upload. A
// write refused with it is final: the message is answered, not retried.
var ErrSuperseded = errors.New("the name holds a result of a newer upload")

// Evaluator computes one expression. Its errors are deterministic.
type Evaluator func(expr string) (record.Value, error)

// Metrics receives compute's counters (CloudWatch EMF in Lambda).
type Metrics interface {
	Computed(Counts)
}

// Counts are compute's counters for one SQS batch.
type Counts struct {
	// OK and Error count the ops computed, by result status.
	OK, Error int
	// Superseded counts the writes refused because the name holds a
	// result of a newer upload.
	Superseded int
	// ItemFailures is the number of messages in the partial batch
	// response (left for SQS to redeliver).
	ItemFailures int
	// WriteCalls counts PutItem calls, Retries the calls that retried one.
	WriteCalls, Retries int
}

// DefaultConcurrency is the default number of writes in flight per
// invocation: one per message of the largest SQS batch a standard mapping
// delivers without a batching window (10) fits well within it, and larger
// batches are written 25 at a time.
const DefaultConcurrency = 25

// Config tunes a Service. Zero fields take the defaults.
type Config struct {
	Retry retry.Policy
	// Concurrency is the number of PutItem calls in flight.
	Concurrency int // default DefaultConcurrency
	// Margin is kept free before the invocation's deadline so that the
	// response is returned before Lambda stops the function.
	Margin  time.Duration // default 1s
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics Metrics
}

// Service computes ops.
type Service struct {
	writer ResultWriter
	eval   Evaluator
	cfg    Config
}

// New returns a Service.
func New(writer ResultWriter, eval Evaluator, cfg Config) *Service {
	if cfg.Retry.Attempts == 0 {
		cfg.Retry = retry.Default
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Margin == 0 {
		cfg.Margin = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{writer: writer, eval: eval, cfg: cfg}
}

// item is one result to write and the messages it answers.
type item struct {
	result   record.Result
	messages []string
}

// Handle is the Lambda handler for an SQS batch. It never fails the whole
// batch for a per-message problem: it lists exactly the messages that must
// be retried.
func (s *Service) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	fail := func(id string) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	for _, m := range ev.Records {
		if m.MessageId == "" {
			// An empty itemIdentifier would fail the whole batch anyway;
			// say so plainly instead of returning an invalid response.
			return events.SQSEventResponse{}, errors.New("SQS record without a messageId")
		}
	}
	ctx, cancel := retry.BeforeDeadline(ctx, s.cfg.Margin)
	defer cancel()

	now := s.cfg.Now().UTC()
	items := make([]*item, 0, len(ev.Records))
	// Copies of one message (same name, batch, op and stamp) share one
	// write. The stamp is part of the key: the same content uploaded again
	// has the same batch id and a newer stamp.
	same := map[string]*item{}
	okCount, errCount := 0, 0
	for _, m := range ev.Records {
		msg, err := record.DecodeMessage(m.Body)
		if err != nil {
			s.cfg.Logger.Warn("undecodable message", "message_id", m.MessageId, "error", err)
			fail(m.MessageId)
			continue
		}
		k := msg.Name + "\x00" + msg.Batch + "\x00" + msg.Op + "\x00" + msg.Stamp
		if it, ok := same[k]; ok {
			it.messages = append(it.messages, m.MessageId)
			continue
		}
		res := s.compute(msg, now)
		if res.Status == record.StatusOK {
			okCount++
		} else {
			errCount++
		}
		it := &item{result: res, messages: []string{m.MessageId}}
		same[k] = it
		items = append(items, it)
	}

	w := s.write(ctx, items)
	for _, it := range w.failed {
		for _, id := range it.messages {
			fail(id)
		}
	}
	c := Counts{OK: okCount, Error: errCount, Superseded: w.superseded, ItemFailures: len(resp.BatchItemFailures),
		WriteCalls: w.calls, Retries: w.retries}
	s.cfg.Logger.Info("batch computed", "messages", len(ev.Records), "ok", c.OK, "error", c.Error,
		"superseded", c.Superseded, "item_failures", c.ItemFailures, "write_calls", c.WriteCalls, "retries", c.Retries)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Computed(c)
	}
	return resp, nil
}

// compute evaluates one op. A panic in the evaluator becomes an error
// result: a handler never panics out (that would fail the whole batch).
func (s *Service) compute(msg record.Message, now time.Time) (res record.Result) {
	res = record.Result{Name: msg.Name, Op: msg.Op, Batch: msg.Batch, Stamp: msg.Stamp, ComputedAt: now}
	defer func() {
		if p := recover(); p != nil {
			res.Status, res.Value, res.Error = record.StatusError, nil, fmt.Sprintf("internal error evaluating op: %v", p)
		}
	}()
	v, err := s.eval(msg.Op)
	if err != nil {
		res.Status, res.Error = record.StatusError, err.Error()
		return res
	}
	res.Status, res.Value = record.StatusOK, &v
	return res
}

// writeStats is what writing one SQS batch's results did.
type writeStats struct {
	calls, retries, superseded int
	failed                     []*item
}

// write stores every item with its own conditional write, Concurrency at a
// time. BatchWriteItem cannot carry a condition (its API reference: "you
// cannot specify conditions on individual put and delete requests");
// PutItem with a ConditionExpression can, and costs the same write
// capacity (the Developer Guide's "Condition expressions": a refused
// conditional write still consumes write capacity, one unit for an item
// of up to 1 KB). A refused write is final (superseded); other failures are retried
// with backoff and, when they persist, leave their messages for SQS.
func (s *Service) write(ctx context.Context, items []*item) writeStats {
	var st writeStats
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Concurrency)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			calls, retries, err := s.put(ctx, it)
			mu.Lock()
			defer mu.Unlock()
			st.calls += calls
			st.retries += retries
			switch {
			case err == nil:
			case errors.Is(err, ErrSuperseded):
				st.superseded++
			default:
				st.failed = append(st.failed, it)
			}
		})
	}
	wg.Wait()
	return st
}

// put writes one item under memo's retry policy. It returns nil, an error
// wrapping ErrSuperseded, or the last failure.
func (s *Service) put(ctx context.Context, it *item) (calls, retries int, err error) {
	log := s.cfg.Logger
	var last error
	err = s.cfg.Retry.Do(ctx, func(int) error {
		if cerr := ctx.Err(); cerr != nil {
			return retry.Permanent(errors.Join(cerr, last))
		}
		calls++
		last = s.writer.Put(ctx, it.result)
		if errors.Is(last, ErrSuperseded) {
			return retry.Permanent(last)
		}
		return last
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrSuperseded):
		log.Debug("result superseded", "name", it.result.Name, "batch", it.result.Batch, "stamp", it.result.Stamp)
	case retry.IsPermanent(err):
		log.Error("write failed", "name", it.result.Name, "error", err)
	default:
		log.Warn("write gave up", "name", it.result.Name, "attempts", calls, "error", err)
	}
	return calls, max(calls-1, 0), err
}
