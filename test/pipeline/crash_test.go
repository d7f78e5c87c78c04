package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// crashWriter stands between compute and the table. While armed, its first
// `healthy` calls go through; every call after them reaches the table (the
// item is written) but its answer never comes back: the call waits for the
// invocation's deadline (stall), or the process is gone (die), after which
// nothing more is written.
type crashWriter struct {
	inner   compute.ResultWriter
	mu      sync.Mutex
	armed   bool
	healthy int
	stall   bool
	calls   int
	dead    bool
	crashes int
}

var errProcessGone = errors.New("the process exited")

func (w *crashWriter) Put(ctx context.Context, r record.Result) error {
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return w.inner.Put(ctx, r)
	}
	if w.dead {
		w.mu.Unlock()
		return errProcessGone
	}
	w.calls++
	if w.calls <= w.healthy {
		w.mu.Unlock()
		return w.inner.Put(ctx, r)
	}
	w.crashes++
	if !w.stall {
		w.dead = true
	}
	w.mu.Unlock()
	if err := w.inner.Put(context.WithoutCancel(ctx), r); err != nil {
		return err
	}
	if w.stall {
		<-ctx.Done()
		return ctx.Err()
	}
	return errProcessGone
}

func (w *crashWriter) disarm() {
	w.mu.Lock()
	w.armed = false
	w.mu.Unlock()
}

// crashPipeline is a pipeline whose compute writes through a crashWriter,
// with a deadline margin of 100ms: short invocations, and room for a loaded
// machine to schedule the stalled writes' return.
func crashPipeline(stall bool) (*pipeline, *crashWriter) {
	p := newPipeline(nil, nil)
	w := &crashWriter{inner: p.table, armed: true, healthy: 3, stall: stall}
	p.comp = compute.New(w, compute.Expressions(eval.Evaluate), compute.Config{Retry: fastRetry, Margin: 100 * time.Millisecond, Metrics: p.metrics})
	return p, w
}

// checkAnswered checks compute's promise for one invocation: every message
// of the event is either stored or listed as a failure (none silently
// dropped), and undecodable ones are failures.
func checkAnswered(t *testing.T, p *pipeline, ev events.SQSEvent, resp events.SQSEventResponse) (failed int) {
	t.Helper()
	listed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		listed[f.ItemIdentifier] = true
	}
	items := p.table.Items()
	for _, m := range ev.Records {
		msg, err := record.DecodeMessage(m.Body)
		if err != nil {
			if !listed[m.MessageId] {
				t.Errorf("undecodable message %s not listed as a failure", m.MessageId)
			}
			continue
		}
		for _, op := range msg.Ops {
			if _, stored := items[op.Name]; !stored && !listed[m.MessageId] {
				t.Errorf("message %s (op %s) neither stored nor listed as a failure: it would be deleted and lost", m.MessageId, op.Name)
			}
		}
	}
	return len(listed)
}

// TestComputeDeadlineMidWrite: the first invocation runs out of time while
// DynamoDB hangs on the writes after the first few (each applied, its answer
// never sent). Compute answers
// before the deadline, listing every message whose result is not known to
// be stored; SQS redelivers those, and the batch reconciles with the same
// results.
func TestComputeDeadlineMidWrite(t *testing.T) {
	b := generate(600)
	p, w := crashPipeline(true)
	ev, id := p.upload("batches/deadline.jsonl", b.body)
	if err := p.deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	first := true
	var listed int
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if !first {
			return p.comp.Handle(ctx, ev)
		}
		first = false
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		resp, err := p.comp.Handle(ctx, ev)
		if err != nil {
			return resp, err
		}
		if ctx.Err() != nil {
			t.Errorf("compute answered after its deadline (%v)", time.Since(start))
		}
		listed = checkAnswered(t, p, ev, resp)
		w.disarm()
		return resp, nil
	}
	if err := p.sqs.Run(context.Background(), h, 100); err != nil {
		t.Fatal(err)
	}
	rec := p.reconcile(t, id)
	t.Logf("%s; first invocation: %d messages, %d listed as failures after %d stalled writes; %s", rec.Line(), p.sqs.BatchSize, listed, w.crashes, p.sqs)
	if w.crashes == 0 || listed == 0 {
		t.Fatalf("the deadline never hit a write (crashes=%d, failures=%d)", w.crashes, listed)
	}
	if !rec.Settled() || rec.Lost != 0 || rec.DLQ != 0 {
		t.Fatalf("not reconciled: %s", rec.Line())
	}
	p.checkResults(t, b, id)
}

// TestComputeProcessExitMidWrite: the process running the first invocation
// exits while writing (some results stored, one write applied without
// an answer, then nothing). Lambda reports a function error, so the event source
// mapping deletes nothing and the whole batch comes back: results already
// stored are written again, identical.
func TestComputeProcessExitMidWrite(t *testing.T) {
	b := generate(600)
	p, w := crashPipeline(false)
	ev, id := p.upload("batches/exit.jsonl", b.body)
	if err := p.deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var storedBefore int
	first := true
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if !first {
			return p.comp.Handle(ctx, ev)
		}
		first = false
		_, _ = p.comp.Handle(ctx, ev) // its answer is never sent: the process is gone
		storedBefore = len(p.table.Items())
		w.disarm()
		return events.SQSEventResponse{}, errors.New("Runtime.ExitError: exit status 2")
	}
	if err := p.sqs.Run(context.Background(), h, 100); err != nil {
		t.Fatal(err)
	}
	rec := p.reconcile(t, id)
	t.Logf("%s; %d results stored before the exit; %s", rec.Line(), storedBefore, p.sqs)
	if storedBefore == 0 || storedBefore >= p.sqs.BatchSize || p.sqs.Stats.FailedInvocations != 1 {
		t.Fatalf("the exit did not happen half way: %d stored, %d failed invocations", storedBefore, p.sqs.Stats.FailedInvocations)
	}
	if !rec.Settled() || rec.Lost != 0 || rec.DLQ != 0 {
		t.Fatalf("not reconciled: %s", rec.Line())
	}
	p.checkResults(t, b, id)
	for _, op := range b.valid {
		if h := p.table.History(op.Name); len(h) != 1 {
			t.Fatalf("%s written %d times: a redelivered op that was stored is skipped or refused, never rewritten", op.Name, len(h))
		}
	}
}

// TestSplitterTwiceForTheSameUpload: S3 delivers the same notification
// twice, one after the other and at the same time. Every op is enqueued
// two or three times; the results are the same as with one delivery, every
// write of an op says the same, and the batch reconciles.
func TestSplitterTwiceForTheSameUpload(t *testing.T) {
	b := generate(2000)
	p := newPipeline(nil, nil)
	ev, id := p.upload("batches/twice.jsonl", b.body)
	ctx := context.Background()
	if err := p.deliver(ctx, ev); err != nil {
		t.Fatal(err)
	}
	first := p.reconcile(t, id).Report
	var wg sync.WaitGroup
	var errs [2]error
	for i := range errs {
		wg.Go(func() { errs[i] = p.split.Handle(ctx, ev) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.queue.Ops()), 3*len(b.valid); got != want {
		t.Fatalf("%d messages enqueued by three deliveries of %d ops", got, len(b.valid))
	}
	if err := p.sqs.Run(ctx, p.comp.Handle, 1000); err != nil {
		t.Fatal(err)
	}
	rec := p.reconcile(t, id)
	t.Logf("%s; %s", rec.Line(), p.sqs)
	if !rec.Settled() || rec.Lost != 0 || rec.Total != 2000 || rec.Rejected != b.rejected {
		t.Fatalf("not reconciled: %s", rec.Line())
	}
	if rec.Report.Totals != first.Totals || rec.Report.Batch != first.Batch {
		t.Fatalf("the report changed: %+v, first %+v", rec.Report.Totals, first.Totals)
	}
	p.checkResults(t, b, id)
}

// TestSplitterDiesHalfWay: the splitter's first invocation runs out of
// time half way through the batch (SQS is slow). It writes a "failed"
// report and fails; S3 invokes it again, it enqueues everything (the first
// half twice) and the batch reconciles.
func TestSplitterDiesHalfWay(t *testing.T) {
	b := generate(3000)
	var slow atomic.Bool
	slow.Store(true)
	p := newPipeline(func(q *inmem.Queue) splitter.Queue { return slowQueue{q, &slow} }, nil)
	p.split = splitter.New(p.objs, slowQueue{p.queue, &slow}, splitter.Config{Retry: fastRetry, Margin: 50 * time.Millisecond, Concurrency: 2})
	ev, id := p.upload("batches/slow.jsonl", b.body)
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	err := p.split.Handle(ctx, ev)
	if err == nil {
		t.Fatal("the first invocation finished in time; it should have run out")
	}
	half := len(p.queue.Ops())
	rep := p.reconcile(t, id)
	if rep.Report == nil || rep.Report.Status != record.ReportFailed || half == 0 || half >= len(b.valid) {
		t.Fatalf("after the first invocation: %d enqueued, report %+v (%v)", half, rep.Report, err)
	}
	slow.Store(false)
	if err := p.deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := p.sqs.Run(context.Background(), p.comp.Handle, 1000); err != nil {
		t.Fatal(err)
	}
	rec := p.reconcile(t, id)
	t.Logf("first invocation: %v after %d of %d ops; then %s", err, half, len(b.valid), rec.Line())
	if !rec.Settled() || rec.Lost != 0 || rec.Report.Status != record.ReportSplit {
		t.Fatalf("not reconciled: %s", rec.Line())
	}
	p.checkResults(t, b, id)
}

// slowQueue takes 20ms per call while slow is set.
type slowQueue struct {
	*inmem.Queue
	slow *atomic.Bool
}

func (q slowQueue) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	if q.slow.Load() {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return q.Queue.SendBatch(ctx, msgs)
}
