// Package compute evaluates queued ops and stores their results. One SQS
// batch in, one partial batch response out: a message is reported as failed
// only when its result could not be stored (so SQS redelivers it, and
// redrives it to the DLQ after maxReceiveCount) or its body cannot be
// decoded. An op whose expression fails deterministically is stored as a
// result with status "error" and is not retried.
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

// MaxWriteBatch is DynamoDB's limit of items in one BatchWriteItem call.
const MaxWriteBatch = 25

// ResultWriter stores results.
type ResultWriter interface {
	// WriteBatch writes at most MaxWriteBatch results with distinct names
	// in one call. It returns the results that were not processed
	// (DynamoDB's UnprocessedItems), or an error when the call failed as a
	// whole.
	WriteBatch(ctx context.Context, results []record.Result) (unprocessed []record.Result, err error)
}

// Evaluator computes one expression. Its errors are deterministic.
type Evaluator func(expr string) (record.Value, error)

// Metrics receives compute's counters (CloudWatch EMF in Lambda).
type Metrics interface {
	Computed(ok, failed, itemFailures, writeCalls, retries int)
}

// Config tunes a Service. Zero fields take the defaults.
type Config struct {
	Retry retry.Policy
	// Concurrency is the number of BatchWriteItem calls in flight.
	Concurrency int // default 4
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
		cfg.Concurrency = 4
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
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-s.cfg.Margin))
		defer cancel()
	}

	now := s.cfg.Now().UTC()
	items := make([]*item, 0, len(ev.Records))
	same := map[string]*item{} // name+batch+op -> item: duplicates share one write
	okCount, errCount := 0, 0
	for _, m := range ev.Records {
		msg, err := record.DecodeMessage(m.Body)
		if err != nil {
			s.cfg.Logger.Warn("undecodable message", "message_id", m.MessageId, "error", err)
			fail(m.MessageId)
			continue
		}
		k := msg.Name + "\x00" + msg.Batch + "\x00" + msg.Op
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

	calls, retries, failed := s.write(ctx, items)
	for _, it := range failed {
		for _, id := range it.messages {
			fail(id)
		}
	}
	s.cfg.Logger.Info("batch computed", "messages", len(ev.Records), "ok", okCount, "error", errCount,
		"item_failures", len(resp.BatchItemFailures), "write_calls", calls, "retries", retries)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Computed(okCount, errCount, len(resp.BatchItemFailures), calls, retries)
	}
	return resp, nil
}

// compute evaluates one op. A panic in the evaluator becomes an error
// result: a handler never panics out (that would fail the whole batch).
func (s *Service) compute(msg record.Message, now time.Time) (res record.Result) {
	res = record.Result{Name: msg.Name, Op: msg.Op, Batch: msg.Batch, ComputedAt: now}
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

// write stores items in calls of at most MaxWriteBatch distinct names,
// retrying unprocessed items and failed calls with backoff. It returns the
// items that could not be stored.
func (s *Service) write(ctx context.Context, items []*item) (calls, retries int, failed []*item) {
	chunks := chunk(items)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Concurrency)
	for _, c := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func(c []*item) {
			defer wg.Done()
			defer func() { <-sem }()
			n, r, f := s.writeChunk(ctx, c)
			mu.Lock()
			calls += n
			retries += r
			failed = append(failed, f...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return calls, retries, failed
}

func (s *Service) writeChunk(ctx context.Context, pending []*item) (calls, retries int, failed []*item) {
	log := s.cfg.Logger
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return calls, retries, pending
		}
		results := make([]record.Result, len(pending))
		byName := make(map[string]*item, len(pending))
		for i, it := range pending {
			results[i] = it.result
			byName[it.result.Name] = it
		}
		calls++
		unprocessed, err := s.writer.WriteBatch(ctx, results)
		var next []*item
		if err != nil {
			if retry.IsPermanent(err) {
				log.Error("write failed", "error", err, "items", len(pending))
				return calls, retries, pending
			}
			next = pending
		} else {
			for _, r := range unprocessed {
				if it, ok := byName[r.Name]; ok {
					next = append(next, it)
				}
			}
		}
		if len(next) == 0 {
			return calls, retries, nil
		}
		if attempt >= s.cfg.Retry.Attempts {
			log.Warn("write gave up", "attempts", attempt, "items", len(next), "error", err)
			return calls, retries, next
		}
		retries++
		if s.cfg.Retry.Wait(ctx, attempt) != nil {
			return calls, retries, next
		}
		pending = next
	}
}

// chunk groups items into calls of at most MaxWriteBatch with no name twice
// in one call (BatchWriteItem rejects a request with duplicate keys). Two
// different results for one name in one SQS batch come from two batches;
// which is stored last is not defined, as with any two concurrent uploads.
func chunk(items []*item) [][]*item {
	var out [][]*item
	var names []map[string]bool
	for _, it := range items {
		placed := false
		// Start after the last chunk that holds the name.
		start := 0
		for i := len(out) - 1; i >= 0; i-- {
			if names[i][it.result.Name] {
				start = i + 1
				break
			}
		}
		for i := start; i < len(out); i++ {
			if len(out[i]) < MaxWriteBatch {
				out[i] = append(out[i], it)
				names[i][it.result.Name] = true
				placed = true
				break
			}
		}
		if !placed {
			out = append(out, []*item{it})
			names = append(names, map[string]bool{it.result.Name: true})
		}
	}
	return out
}
