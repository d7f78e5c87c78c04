package pipeline_test

// A whole pipeline on the in-memory fakes, for the fault and crash tests:
// the production splitter and compute services, S3's asynchronous
// invocation of the splitter (two retries), and the ops queue as the SQS
// event source mapping sees it (inmem.Mapping: redelivery of what is
// not deleted, redrive to a DLQ once a message has been received
// maxReceiveCount times). Reconciliation is status.Reconcile, the one memo
// status uses.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

const pipeBucket = "memo-test-batches-123"

// fastRetry is retry.Default's attempts without the waiting.
var fastRetry = retry.Policy{Attempts: retry.Default.Attempts, Base: time.Millisecond, Max: time.Millisecond,
	Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}

// counters receives the services' metrics.
type counters struct {
	mu                                  sync.Mutex
	splits, sendCalls, sendRetries      int
	invocations, writeCalls, writeRetry int
	superseded                          int
}

func (c *counters) Split(x splitter.Counts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.splits++
	c.sendCalls += x.SendCalls
	c.sendRetries += x.Retries
}

func (c *counters) Computed(x compute.Counts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invocations++
	c.writeCalls += x.WriteCalls
	c.writeRetry += x.Retries
	c.superseded += x.Superseded
}

type pipeline struct {
	objs    *inmem.Objects
	queue   *inmem.Queue
	table   *inmem.Table
	tally   *inmem.Tallier // the batches' counters compute adds to
	split   *splitter.Service
	sendQ   splitter.Queue // the splitter's queue (wrapped or not)
	comp    *compute.Service
	sqs     *inmem.Mapping
	metrics *counters
	// splitterInvocations counts S3's invocations of the splitter.
	splitterInvocations int
	// uploads counts uploads: S3 accepted them in this order, and their
	// events say so (eventTime and sequencer).
	uploads int
}

// uploadEpoch is the event time of the first upload.
var uploadEpoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// newPipeline wires the services to the fakes; q and w, when not nil, sit
// between the services and the fakes (fault wrappers).
func newPipeline(wrapQ func(*inmem.Queue) splitter.Queue, wrapW func(*inmem.Table) compute.ResultWriter) *pipeline {
	p := &pipeline{objs: inmem.NewObjects(), queue: &inmem.Queue{}, table: inmem.NewTable(), tally: &inmem.Tallier{}, metrics: &counters{}}
	var q splitter.Queue = p.queue
	if wrapQ != nil {
		q = wrapQ(p.queue)
	}
	var w compute.ResultWriter = p.table
	if wrapW != nil {
		w = wrapW(p.table)
	}
	p.sendQ = q
	p.split = splitter.New(p.objs, q, splitter.Config{Retry: fastRetry, Metrics: p.metrics})
	p.comp = compute.New(w, compute.Expressions(eval.Evaluate), compute.Config{Retry: fastRetry, Metrics: p.metrics, Stored: p.table, Tallier: p.tally})
	p.sqs = inmem.NewMapping(p.queue, 5, 100)
	return p
}

// upload stores a batch and returns its S3 event and batch id.
func (p *pipeline) upload(key string, body []byte) (events.S3Event, string) {
	p.objs.Set(pipeBucket, key, body)
	etag := fmt.Sprintf("%x", len(body)) + "e7a9"
	var r events.S3EventRecord
	r.EventName = "ObjectCreated:Put"
	r.S3.Bucket.Name = pipeBucket
	r.S3.Object.Key = key
	r.S3.Object.ETag = etag
	// One upload a millisecond, as S3 would stamp them, with a sequencer
	// that grows with each upload.
	p.uploads++
	r.EventTime = uploadEpoch.Add(time.Duration(p.uploads) * time.Millisecond)
	r.S3.Object.Sequencer = fmt.Sprintf("%016X", p.uploads)
	return events.S3Event{Records: []events.S3EventRecord{r}}, naming.BatchID(key, etag)
}

// deliver invokes the splitter as S3's asynchronous invocation does: once,
// and twice more if it fails. It returns the last error.
func (p *pipeline) deliver(ctx context.Context, ev events.S3Event) error {
	var err error
	for range 3 {
		p.splitterInvocations++
		if err = p.split.Handle(ctx, ev); err == nil {
			return nil
		}
	}
	return err
}

// Report, Counts and DLQ (and Pending, Names and Stored in order_test.go)
// make the pipeline a status.Source.
func (p *pipeline) Report(_ context.Context, batch string) (record.Report, bool, error) {
	b, ok := p.objs.Object(pipeBucket, naming.ReportKey(naming.KeyOfBatch(batch)))
	if !ok {
		return record.Report{}, false, nil
	}
	rep, err := record.DecodeReport(b)
	if err == nil && rep.Batch != batch {
		return record.Report{}, false, nil // the key's newer upload's report
	}
	return rep, err == nil, err
}

// Counts reads the in-memory counters compute adds to.
func (p *pipeline) Counts(_ context.Context, batch string) (status.Counts, error) {
	c := p.tally.Counts()[batch]
	return status.Counts{OK: c.OK, Error: c.Error, Superseded: c.Superseded}, nil
}

func (p *pipeline) DLQ(_ context.Context, batch string) ([]string, error) {
	var names []string
	for _, m := range p.sqs.DLQ() {
		if msg, err := record.DecodeMessage(m.Body); err == nil && msg.Batch == batch {
			for _, op := range msg.Ops {
				names = append(names, op.Name)
			}
		}
	}
	return names, nil
}

var _ status.Source = (*pipeline)(nil)

// reconcile returns the exact account, by names (status.ReconcileExact), and
// checks that the counters' account (status.Reconcile), when they close
// it, agrees: the counters are exact under redelivery, duplicates, retries
// and crashes, or they do not close.
func (p *pipeline) reconcile(t *testing.T, batch string) status.Reconciliation {
	t.Helper()
	r, err := status.ReconcileExact(context.Background(), p, batch)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := status.Reconcile(context.Background(), p, batch)
	if err != nil {
		t.Fatal(err)
	}
	// The counters count what compute did; the names what the table holds
	// now: a result this upload stored and a newer upload replaced since
	// is ok (or error) by the counters and superseded by the names.
	counted, named := fast.OK+fast.Error+fast.Superseded, r.OK+r.Error+r.Superseded
	if fast.Reconciled == "" && fast.Lost == 0 && (counted != named || fast.OK < r.OK || fast.Error < r.Error || fast.DLQ != r.DLQ) {
		t.Errorf("the counters close the account of %s wrongly:\n counters: %s\n by names: %s", batch, fast.Line(), r.Line())
	}
	r.Reconciled = "" // asked for: the tests read the account alone
	return r
}

// checkResults checks every op of a generated batch: its stored result is
// the evaluator's answer for its own op (or its message is in the DLQ), and
// every write it ever got says the same.
func (p *pipeline) checkResults(t *testing.T, b genBatch, batch string) {
	t.Helper()
	items := p.table.Items()
	inDLQ := map[string]bool{}
	names, _ := p.DLQ(context.Background(), batch)
	for _, n := range names {
		inDLQ[n] = true
	}
	bad := 0
	for _, op := range b.valid {
		r, ok := items[op.Name]
		if !ok {
			if !inDLQ[op.Name] {
				t.Errorf("%s: no result and not in the DLQ", op.Name)
				bad++
			}
			continue
		}
		want := expected(op.Op)
		got := record.Result{Batch: r.Batch, Op: r.Op, Status: r.Status, Error: r.Error, Value: r.Value}
		want.Batch, want.Op = batch, op.Op
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", op.Name, diff)
			bad++
		}
		for _, h := range p.table.History(op.Name) {
			if diff := cmp.Diff(got, record.Result{Batch: h.Batch, Op: h.Op, Status: h.Status, Error: h.Error, Value: h.Value}); diff != "" {
				t.Errorf("%s has two different results (-stored +earlier):\n%s", op.Name, diff)
				bad++
				break
			}
		}
		if bad > 10 {
			t.Fatal("too many wrong results")
		}
	}
}

func expected(op string) record.Result {
	v, err := eval.Evaluate(op)
	if err != nil {
		return record.Result{Status: record.StatusError, Error: err.Error()}
	}
	return record.Result{Status: record.StatusOK, Value: &v}
}

// genBatch is a generated .jsonl batch: n ops, one in 97 a deterministic
// error (1/0) and one in 501 rejected (an empty name).
type genBatch struct {
	body     []byte
	valid    []record.MessageOp
	rejected int
}

func generate(n int) genBatch {
	var g genBatch
	var b bytes.Buffer
	for i := range n {
		name, op := fmt.Sprintf("op_%05d", i), fmt.Sprintf("%d * 3 + 1", i)
		switch {
		case i%501 == 500:
			name = ""
			g.rejected++
		case i%97 == 96:
			op = fmt.Sprintf("%d / 0", i)
		}
		fmt.Fprintf(&b, `{"name": %q, "op": %q}`+"\n", name, op)
		if name != "" {
			g.valid = append(g.valid, record.MessageOp{Name: name, Op: op, Index: i})
		}
	}
	g.body = b.Bytes()
	return g
}

// faultMix draws the fate of one call from a seeded source, shared by
// concurrent callers.
type faultMix struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	counts map[string]int
}

func newFaultMix(rate float64, seed uint64) *faultMix {
	return &faultMix{rng: rand.New(rand.NewPCG(seed, seed+1)), rate: rate, counts: map[string]int{}}
}

// draw returns "" or one of kinds, with total probability share*rate.
func (m *faultMix) draw(share float64, kinds ...string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rng.Float64() >= m.rate*share {
		return ""
	}
	k := kinds[m.rng.IntN(len(kinds))]
	m.counts[k]++
	return k
}

// subset picks some (not all) of n entries, or nil when n < 2.
func (m *faultMix) subset(n int) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < 2 {
		return nil
	}
	var out []int
	for i := range n {
		if m.rng.IntN(2) == 0 {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		out = []int{m.rng.IntN(n)}
	}
	if len(out) == n {
		out = out[1:]
	}
	return out
}

func (m *faultMix) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprint(m.counts)
}

// The fault mix of the S3, SQS and DynamoDB fakes, the same as
// internal/dev/faults injects into the SDK: throttling and 5xx errors (nothing
// applied), entries failed in a 200 answer, and timeouts (applied, answer
// lost). Three quarters of the faults come from the fakes' Fail hooks; the
// timeouts from a wrapper that lets the call through and then fails it.
func injectFaults(p *pipeline, m *faultMix) {
	p.queue.Fail = func(msgs []record.Message) ([]splitter.SendFailure, error) {
		switch m.draw(0.75, "send:throttle", "send:server-error", "send:partial") {
		case "send:throttle":
			return nil, errors.New("RequestThrottled: Rate exceeded")
		case "send:server-error":
			return nil, errors.New("InternalFailure: internal error")
		case "send:partial":
			var fs []splitter.SendFailure
			for _, i := range m.subset(len(msgs)) {
				fs = append(fs, splitter.SendFailure{Index: i, Reason: "InternalError: internal error"})
			}
			return fs, nil
		}
		return nil, nil
	}
	p.table.Fail = func(r record.Result) error {
		switch m.draw(0.75, "write:throttle", "write:server-error") {
		case "write:throttle":
			return errors.New("ProvisionedThroughputExceededException: throughput exceeded")
		case "write:server-error":
			return errors.New("InternalServerError: internal error")
		}
		return nil
	}
}

// lateQueue fails a share of the calls after they were applied (a timeout).
type lateQueue struct {
	*inmem.Queue
	m *faultMix
}

func (q lateQueue) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	fs, err := q.Queue.SendBatch(ctx, msgs)
	if err == nil && q.m.draw(0.25, "send:timeout") != "" {
		return nil, errors.New("send: net/http: timeout awaiting response headers")
	}
	return fs, err
}

type lateTable struct {
	*inmem.Table
	m *faultMix
}

func (w lateTable) Put(ctx context.Context, r record.Result) error {
	err := w.Table.Put(ctx, r)
	if err == nil && w.m.draw(0.25, "write:timeout") != "" {
		return errors.New("write: net/http: timeout awaiting response headers")
	}
	return err
}

// failingReader returns data up to n bytes, then a connection reset.
type failingReader struct {
	r io.Reader
}

func failAfter(data []byte, n int) io.ReadCloser {
	return io.NopCloser(&failingReader{r: io.MultiReader(bytes.NewReader(data[:n]), errReader{})})
}

func (f *failingReader) Read(p []byte) (int, error) { return f.r.Read(p) }

type errReader struct{}

func (errReader) Read([]byte) (int, error) {
	return 0, errors.New("read tcp 127.0.0.1:4566: read: connection reset by peer")
}

func sumTable(p *pipeline) (writes int) {
	for name := range p.table.Items() {
		writes += len(p.table.History(name))
	}
	return writes
}
