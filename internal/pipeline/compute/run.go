package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// computeAll runs the function over every item, Ops at a time, and sets
// each item's result or marks it transient. An op not started before ctx
// ends (the invocation's deadline less the margin) is transient too: its
// message is left for SQS rather than risking the whole response.
func (s *Service) computeAll(ctx context.Context, items []*item) {
	if len(items) == 1 || s.cfg.Ops == 1 {
		for _, it := range items {
			s.computeOne(ctx, it)
		}
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Ops)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.computeOne(ctx, it)
		})
	}
	wg.Wait()
}

// outcome is what one call of the function returned.
type outcome struct {
	v     record.Value
	err   error
	panic any
	stack []byte
}

// computeOne computes one item's op.
func (s *Service) computeOne(ctx context.Context, it *item) {
	payload, err := opJSON(it.op)
	if err != nil {
		it.result = record.Result{Name: it.op.Name, Op: it.op.Op, Batch: it.batch, Stamp: it.stamp, Status: record.StatusError, Error: err.Error()}
		return
	}
	op := Op{Name: it.op.Name, Payload: payload, Batch: it.batch, Index: it.op.Index, Stamp: it.stamp}
	it.result, it.transient = s.Compute(ctx, op)
	it.result.Op = it.op.Op
}

// Compute runs the function over one op as Handle does: within the op's
// time limit, a panic and a value DynamoDB cannot store made error results.
// It returns the result to store, or transient and a result whose Error
// says why the op must be retried. The function runs in a goroutine of its
// own so that an op that ignores its context is left behind (its message
// retried) instead of holding the invocation past its deadline.
func (s *Service) Compute(ctx context.Context, op Op) (res record.Result, transient bool) {
	res = record.Result{Name: op.Name, Op: string(op.Payload), Batch: op.Batch, Stamp: op.Stamp}
	// Every line about an op carries its name and batch (built only when
	// a line is written: most ops write none).
	log := func() *slog.Logger { return s.cfg.Logger.With("name", op.Name, "batch", op.Batch) }
	if err := ctx.Err(); err != nil {
		log().Warn("op not started: the invocation's deadline is near; its message is left for SQS", "error", err)
		res.Error = "not started: " + err.Error()
		return res, true
	}
	opCtx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o = outcome{panic: p, stack: debug.Stack()}
			}
			done <- o
		}()
		o.v, o.err = s.fn(opCtx, op)
	}()
	var o outcome
	select {
	case o = <-done:
	case <-opCtx.Done():
		// Prefer an answer that arrived together with the deadline.
		select {
		case o = <-done:
		default:
			o.err = opCtx.Err()
		}
	}
	res.ComputedAt = s.cfg.Now().UTC()
	switch {
	case o.panic != nil:
		// A panic is a bug of the function: retrying would panic again.
		log().Error("op panicked", "panic", fmt.Sprint(o.panic), "stack", string(o.stack))
		res.Status, res.Error = record.StatusError, fmt.Sprintf("internal error computing op: %v", o.panic)
	case o.err != nil && retry.IsPermanent(o.err):
		log().Debug("op failed permanently", "error", o.err)
		res.Status, res.Error = record.StatusError, o.err.Error()
	case o.err != nil:
		res.Error = o.err.Error()
		if errors.Is(o.err, context.DeadlineExceeded) && opCtx.Err() != nil {
			res.Error = fmt.Sprintf("the op ran out of time (limit %s, or the invocation's deadline): %v", s.cfg.OpTimeout, o.err)
		}
		log().Warn("op failed transiently; its message is left for SQS", "error", res.Error)
		return res, true
	default:
		if err := storable(o.v); err != nil {
			log().Info("op's value cannot be stored", "error", err)
			res.Status, res.Error = record.StatusError, err.Error()
			return res, false
		}
		v := o.v
		res.Status, res.Value = record.StatusOK, &v
	}
	return res, false
}

// opJSON is the op's value as JSON: a Raw op's text as the batch file held
// it, a string op encoded.
func opJSON(op record.MessageOp) ([]byte, error) {
	if op.Raw {
		return []byte(op.Op), nil
	}
	return jsonString(op.Op)
}

// jsonString is s as a JSON string: without a copy through encoding/json
// for the common string that needs no escape.
func jsonString(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return json.Marshal(s)
		}
	}
	b := make([]byte, 0, len(s)+2)
	return append(append(append(b, '"'), s...), '"'), nil
}

// storable says why DynamoDB cannot store a result value, or nil.
func storable(v record.Value) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("the result cannot be stored: %w", err)
	}
	if n := v.StoredSize(); n > MaxValueBytes {
		return fmt.Errorf("the result cannot be stored: %d bytes, more than the %d a result may hold", n, MaxValueBytes)
	}
	return nil
}
