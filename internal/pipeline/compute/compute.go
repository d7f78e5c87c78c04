// Package compute runs a per-op function over queued ops and stores their
// results. One SQS batch of messages, each a pack of ops (record.Message),
// in; one partial batch response out: a message is reported as failed when
// one of its ops failed transiently (the function's error not marked
// permanent, or the op ran out of time) or its result could not be stored
// (so SQS redelivers it, and redrives it to the DLQ after maxReceiveCount),
// or when its body cannot be decoded. A result refused because the name
// holds a newer upload's result is superseded, one refused because it holds
// this upload's already stored: both final, and the message answered once
// all its ops are. An op whose function fails permanently, panics, or
// returns a value DynamoDB cannot store is stored as a result with status
// "error" and is not retried. The ops of a redelivered message that are
// already final are read first and not written again (Config.Stored), and
// each invocation adds what it stored to the batches' counters
// (Config.Tallier).
//
// memo's own evaluator is one such function (Expressions); the public
// package github.com/memohq/memo/fn wraps a user's function into one.
package compute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	// Put stores r if the item of r.Name is absent or holds a result with
	// an older stamp (record.Stamp). If it holds this upload's result (the
	// same batch and stamp: a redelivery), nothing changes and the error
	// wraps ErrAlreadyStored; if it holds a newer upload's, the error
	// wraps ErrSuperseded. Any other error is a failure of the call
	// (retry.IsPermanent says whether retrying can help).
	Put(ctx context.Context, r record.Result) error
}

// ErrSuperseded says that the name holds a result of a newer upload. A
// write refused with it is final: the message is answered, not retried.
var ErrSuperseded = errors.New("the name holds a result of a newer upload")

// Op is one op as a Func sees it.
type Op struct {
	Name string
	// Payload is the op's JSON value (memo's expressions are JSON strings).
	Payload json.RawMessage
	Batch   string
	// Index is the op's zero-based position in its batch file.
	Index int
	Stamp record.Stamp
}

// Func computes one op. An error is transient (the message is left for SQS
// to redeliver, and after maxReceiveCount it waits in the DLQ) unless
// retry.IsPermanent says it is permanent: then it is stored as the op's
// error result. ctx ends at the op's time limit or before the invocation's
// deadline, whichever comes first.
type Func func(ctx context.Context, op Op) (record.Value, error)

// Evaluator computes one expression. Its errors are deterministic.
type Evaluator func(expr string) (record.Value, error)

// Expressions is memo's own per-op function: the op is a JSON string
// holding an expression, and every evaluation error is permanent.
func Expressions(eval Evaluator) Func {
	return func(_ context.Context, op Op) (record.Value, error) {
		var expr string
		if p := op.Payload; len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' && !bytes.ContainsAny(p[1:len(p)-1], `"\\`) {
			expr = string(p[1 : len(p)-1]) // no escape to undo
		} else if len(p) == 0 || p[0] != '"' || json.Unmarshal(p, &expr) != nil {
			return record.Value{}, retry.Permanent(NotAnExpression(op.Payload))
		}
		v, err := eval(expr)
		return v, retry.Permanent(err)
	}
}

// NotAnExpression is the error of memo's evaluator for an op that is not a
// JSON string: a message of a splitter with the json op rules (a user's
// function's pipeline) reached memo's own compute function. Permanent: no
// retry can make it an expression.
func NotAnExpression(payload json.RawMessage) error {
	kind := "not a JSON value"
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) > 0 {
		switch p[0] {
		case '{':
			kind = "a JSON object"
		case '[':
			kind = "a JSON array"
		case 't', 'f':
			kind = "a JSON boolean"
		case 'n':
			kind = "JSON null"
		case '"':
			kind = "a JSON string that does not decode"
		default:
			kind = "a JSON number"
		}
	}
	return fmt.Errorf("the op is %s, not an expression string: memo's evaluator computes expressions; a pipeline whose ops are any JSON value (split_op_rules = \"json\") runs your own function (compute_zip)", kind)
}

// MaxValueBytes bounds a result value's size as DynamoDB counts it
// (record.Value.StoredSize): an item holds at most 400 KB ("Service,
// account, and table quotas in Amazon DynamoDB"), and the rest is left for
// the op, its name and the result's other attributes.
const MaxValueBytes = 300 * 1024

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
	// AlreadyStored counts the writes refused because the name already
	// holds this upload's result (ErrAlreadyStored), Skipped the ops of
	// redelivered messages not computed because their names already held
	// this upload's result or a newer one's.
	AlreadyStored, Skipped int
	// ItemFailures is the number of messages in the partial batch
	// response (left for SQS to redeliver).
	ItemFailures int
	// WriteCalls counts PutItem calls, Retries the calls that retried one.
	WriteCalls, Retries int
	// Transient counts the ops whose function failed transiently or ran
	// out of time (their messages are among ItemFailures).
	Transient int
	// TallyFailures is 1 when the invocation's tallies could not be added
	// to the batches' counters (its messages are answered all the same:
	// the counts then do not close and status reconciles by names).
	TallyFailures int
}

// DefaultConcurrency is the default number of writes in flight per
// invocation: one per message of the largest SQS batch a standard mapping
// delivers without a batching window (10) fits well within it, and larger
// batches are written 25 at a time.
const DefaultConcurrency = 25

// DefaultOps is the default number of ops computed at once per invocation:
// a standard SQS batch without a batching window (10 messages).
const DefaultOps = 10

// DefaultOpTimeout is the default time limit of one op.
const DefaultOpTimeout = 30 * time.Second

// Config tunes a Service. Zero fields take the defaults.
type Config struct {
	Retry retry.Policy
	// Concurrency is the number of PutItem calls in flight.
	Concurrency int // default DefaultConcurrency
	// Ops is the number of ops computed at once (I/O-bound functions
	// want more than the CPU count).
	Ops int // default DefaultOps
	// OpTimeout is the time limit of one op; an op that exceeds it failed
	// transiently.
	OpTimeout time.Duration // default DefaultOpTimeout
	// Margin is kept free before the invocation's deadline so that the
	// response is returned before Lambda stops the function; the ops stop
	// up to a margin before that, leaving it for the writes.
	Margin  time.Duration // default 1s
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics Metrics
	// Tallier, when set, receives each invocation's per-batch tallies
	// (tally.go). Stored, when set, is read before the ops of a
	// redelivered message are written again.
	Tallier Tallier
	Stored  StoredReader
}

// Service computes ops.
type Service struct {
	writer ResultWriter
	fn     Func
	cfg    Config
}

// New returns a Service that computes each op with fn.
func New(writer ResultWriter, fn Func, cfg Config) *Service {
	if cfg.Retry.Attempts == 0 {
		cfg.Retry = retry.Default
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Ops <= 0 {
		cfg.Ops = DefaultOps
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
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
	return &Service{writer: writer, fn: fn, cfg: cfg}
}

// item is one op, its result to write and the messages it answers.
type item struct {
	batch  string
	stamp  record.Stamp
	op     record.MessageOp
	result record.Result
	// transient is set when the op failed transiently: nothing is
	// written and its messages are left for SQS.
	transient bool
	// redelivered: every message carrying the op was received before
	// (ApproximateReceiveCount > 1), so a refusal may have been counted.
	redelivered bool
	// skipped: the name already holds this upload's result or a newer
	// one's (read before computing a redelivered op).
	skipped bool
	// final: the op needs nothing more (stored now or before, refused
	// as superseded, or skipped).
	final bool
	// stored: this invocation stored the result (Put returned nil).
	stored, superseded bool
}

// message is one SQS record of the event and the ops it carries.
type message struct {
	id    string
	items []*item
}

// Handle is the Lambda handler for an SQS batch of packed messages. It
// never fails the whole batch for a per-message problem: it lists exactly
// the messages that must be retried, those with an op that is not final.
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

	items, msgs := s.decode(ev, fail)
	var c Counts
	c.Skipped = s.skipStored(ctx, items)

	// The ops stop earlier still, so that their results can be written
	// before the writes' own deadline: a margin, or half the time left
	// when that is shorter (a short function timeout still runs ops).
	opsCtx, opsCancel := retry.BeforeDeadline(ctx, s.writeReserve(ctx))
	defer opsCancel()
	todo := make([]*item, 0, len(items))
	for _, it := range items {
		if !it.skipped {
			todo = append(todo, it)
		}
	}
	s.computeAll(opsCtx, todo)
	toWrite := todo[:0:0]
	for _, it := range todo {
		switch {
		case it.transient:
			c.Transient++
			continue
		case it.result.Status == record.StatusOK:
			c.OK++
		default:
			c.Error++
		}
		toWrite = append(toWrite, it)
	}
	writeCtx, writeCancel := retry.BeforeDeadline(ctx, s.tallyReserve(ctx))
	defer writeCancel()
	w := s.write(writeCtx, toWrite)
	for _, m := range msgs {
		for _, it := range m.items {
			if !it.final {
				fail(m.id)
				break
			}
		}
	}
	c.Superseded, c.AlreadyStored, c.WriteCalls, c.Retries = w.superseded, w.alreadyStored, w.calls, w.retries
	if err := s.tally(ctx, items); err != nil {
		c.TallyFailures = 1
		s.cfg.Logger.Error("the batches' counters were not updated; status will reconcile by names", "error", err)
	}
	c.ItemFailures = len(resp.BatchItemFailures)
	s.cfg.Logger.Info("batch computed", "messages", len(ev.Records), "ops", len(items), "ok", c.OK, "error", c.Error, "transient", c.Transient,
		"superseded", c.Superseded, "already_stored", c.AlreadyStored, "skipped", c.Skipped, "item_failures", c.ItemFailures,
		"write_calls", c.WriteCalls, "retries", c.Retries, "tally_failures", c.TallyFailures)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Computed(c)
	}
	return resp, nil
}

// decode reads the event's messages and their ops. Copies of one op (same
// name, batch, op and stamp: a message delivered twice in one event, or an
// op in two packs) share one item, so one computation and one write. The
// stamp is part of the key: the same content uploaded again has the same
// batch id and a newer stamp. Undecodable messages are failed at once.
func (s *Service) decode(ev events.SQSEvent, fail func(string)) ([]*item, []message) {
	items := make([]*item, 0, len(ev.Records))
	msgs := make([]message, 0, len(ev.Records))
	same := map[string]*item{}
	for _, m := range ev.Records {
		msg, err := record.DecodeMessage(m.Body)
		if err != nil {
			s.cfg.Logger.Warn("undecodable message", "message_id", m.MessageId, "error", err)
			fail(m.MessageId)
			continue
		}
		redelivered := receivedBefore(m)
		mm := message{id: m.MessageId, items: make([]*item, 0, len(msg.Ops))}
		for _, op := range msg.Ops {
			k := op.Name + "\x00" + msg.Batch + "\x00" + op.Op + "\x00" + msg.Stamp
			it, ok := same[k]
			if !ok {
				it = &item{batch: msg.Batch, stamp: msg.Stamp, op: op, redelivered: true}
				same[k] = it
				items = append(items, it)
			}
			it.redelivered = it.redelivered && redelivered
			mm.items = append(mm.items, it)
		}
		msgs = append(msgs, mm)
	}
	return items, msgs
}

// receivedBefore says whether SQS delivered the message before: its
// ApproximateReceiveCount ("the number of times a message has been
// received across all queues but not deleted", ReceiveMessage, Amazon SQS
// API Reference) is above 1. It is approximate: a first delivery is never
// above 1, but a redelivery may, rarely, still read 1; then its ops are
// only written again (ErrAlreadyStored), never lost.
func receivedBefore(m events.SQSMessage) bool {
	n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return err == nil && n > 1
}

// skipStored reads, in one call, the names of the ops of redelivered
// messages and marks final the ops whose name already holds this upload's
// result or a newer upload's: a read costs a fraction of a write, and the
// other ops of their packs are what was left to do. A failed read skips
// nothing (the writes then tell). It returns the number of ops skipped.
func (s *Service) skipStored(ctx context.Context, items []*item) int {
	if s.cfg.Stored == nil {
		return 0
	}
	var names []string
	for _, it := range items {
		if it.redelivered {
			names = append(names, it.op.Name)
		}
	}
	if len(names) == 0 {
		return 0
	}
	stored, err := s.cfg.Stored.Get(ctx, names)
	if err != nil {
		s.cfg.Logger.Warn("reading the names of redelivered ops failed; computing them all", "ops", len(names), "error", err)
		return 0
	}
	n := 0
	for _, it := range items {
		if r, ok := stored[it.op.Name]; ok && it.redelivered && holdsFinal(r, it.batch, it.stamp) {
			it.skipped, it.final = true, true
			n++
		}
	}
	return n
}

// holdsFinal says whether a name holding stored needs no write of an op of
// batch stamped stamp: it holds this upload's result, or a result the
// write would not replace (ResultWriter.Put's rule).
func holdsFinal(stored record.Result, batch string, stamp record.Stamp) bool {
	if stored.Batch == batch && stored.Stamp == stamp {
		return true
	}
	if stored.Stamp == "" {
		return false
	}
	if stamp == "" {
		return stored.Batch != batch
	}
	return !record.MayReplace(stamp, stored.Stamp)
}

// tally adds what this invocation did to the batches' counters, one Tally
// per upload: results newly stored, and refusals as superseded of ops
// whose messages were first deliveries (a redelivered op may have been
// counted by the invocation that first saw it refused). Ops already stored
// and skipped ops were counted before, or their counts do not close and
// status reconciles.
func (s *Service) tally(ctx context.Context, items []*item) error {
	if s.cfg.Tallier == nil {
		return nil
	}
	var tallies []Tally
	at := map[[2]string]int{}
	for _, it := range items {
		if !it.stored && !(it.superseded && !it.redelivered) {
			continue
		}
		k := [2]string{it.batch, it.stamp}
		i, ok := at[k]
		if !ok {
			i = len(tallies)
			at[k] = i
			tallies = append(tallies, Tally{Batch: it.batch, Stamp: it.stamp})
		}
		switch {
		case it.superseded:
			tallies[i].Superseded++
		case it.result.Status == record.StatusOK:
			tallies[i].OK++
		default:
			tallies[i].Error++
		}
	}
	if len(tallies) == 0 {
		return nil
	}
	return s.cfg.Retry.Do(ctx, func(int) error { return s.cfg.Tallier.Add(ctx, tallies) })
}

// tallyReserve is the time kept for the counter update after the writes:
// writes that retry until their deadline would otherwise leave the update
// an expired context, and every result the invocation stored uncounted.
func (s *Service) tallyReserve(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if s.cfg.Tallier == nil || !ok {
		return 0
	}
	return min(500*time.Millisecond, time.Until(dl)/4)
}

// writeReserve is the time kept for the writes after the ops stop.
func (s *Service) writeReserve(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return min(s.cfg.Margin, time.Until(dl)/2)
}

// writeStats is what writing one SQS batch's results did.
type writeStats struct {
	calls, retries, superseded, alreadyStored int
}

// write stores every item with its own conditional write, Concurrency at a
// time. BatchWriteItem cannot carry a condition (its API reference: "you
// cannot specify conditions on individual put and delete requests");
// PutItem with a ConditionExpression can, and costs the same write
// capacity (the Developer Guide's "Condition expressions": a refused
// conditional write still consumes write capacity, one unit for an item
// of up to 1 KB). A refused write is final (superseded, or already stored
// by this upload); other failures are retried with backoff and, when they
// persist, leave their messages for SQS. It marks the items it settles.
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
				it.stored, it.final = true, true
			case errors.Is(err, ErrAlreadyStored):
				st.alreadyStored++
				it.final = true
			case errors.Is(err, ErrSuperseded):
				st.superseded++
				it.superseded, it.final = true, true
			}
		})
	}
	wg.Wait()
	return st
}

// put writes one item under memo's retry policy. It returns nil, an error
// wrapping ErrSuperseded or ErrAlreadyStored, or the last failure.
func (s *Service) put(ctx context.Context, it *item) (calls, retries int, err error) {
	log := s.cfg.Logger
	var last error
	err = s.cfg.Retry.Do(ctx, func(int) error {
		if cerr := ctx.Err(); cerr != nil {
			return retry.Permanent(errors.Join(cerr, last))
		}
		calls++
		last = s.writer.Put(ctx, it.result)
		if errors.Is(last, ErrSuperseded) || errors.Is(last, ErrAlreadyStored) {
			return retry.Permanent(last)
		}
		return last
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrAlreadyStored):
		log.Debug("result already stored", "name", it.result.Name, "batch", it.result.Batch)
	case errors.Is(err, ErrSuperseded):
		log.Debug("result superseded", "name", it.result.Name, "batch", it.result.Batch, "stamp", it.result.Stamp)
	case retry.IsPermanent(err):
		log.Error("write failed", "name", it.result.Name, "error", err)
	default:
		log.Warn("write gave up", "name", it.result.Name, "attempts", calls, "error", err)
	}
	return calls, max(calls-1, 0), err
}
