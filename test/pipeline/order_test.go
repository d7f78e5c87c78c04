package pipeline_test

// Of two uploads that contain the same op name, the one S3 accepted later
// wins, whatever order they are processed in: on the fakes, through the
// production splitter and compute, reconciled with status.Reconcile.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// submit uploads and splits a batch and drains the queue (memo submit
// --wait on the fakes).
func (p *pipeline) submit(t *testing.T, key, body string) string {
	t.Helper()
	ev, id := p.upload(key, []byte(body))
	if err := p.deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	p.drain(t)
	return id
}

func (p *pipeline) drain(t *testing.T) {
	t.Helper()
	if err := p.sqs.Run(context.Background(), p.comp.Handle, 10_000); err != nil {
		t.Fatal(err)
	}
}

func (p *pipeline) value(t *testing.T, name string) string {
	t.Helper()
	r, ok := p.table.Items()[name]
	if !ok {
		return "(none)"
	}
	return fmt.Sprint(r.Value)
}

// The three steps: a then b for x; a message of a for x reaches the
// DLQ and is redriven after the outage.
func TestNewestUploadWinsAfterARedrive(t *testing.T) {
	p := newPipeline(nil, nil)
	a := p.submit(t, "batches/a.json", `{"ops": [{"name": "x", "op": "1+1"}]}`)
	if v := p.value(t, "x"); v != "2" {
		t.Fatalf("after a: x -> %s", v)
	}
	b := p.submit(t, "batches/b.json", `{"ops": [{"name": "x", "op": "2+2"}]}`)
	if v := p.value(t, "x"); v != "4" {
		t.Fatalf("after b: x -> %s", v)
	}
	// A copy of a's message for x reached the DLQ (five throttled writes).
	var stale record.Message // a pack of one
	for _, m := range p.queue.Messages() {
		if m.Batch == a {
			stale = m
		}
	}
	body, _ := stale.Encode()
	p.sqs.Dead("a-x", body)
	if r := p.reconcile(t, a); r.Superseded != 1 || r.DLQ != 0 || r.Lost != 0 {
		t.Fatalf("with a's message in the DLQ: %s", r.Line())
	}
	if n := p.sqs.Redrive(); n != 1 {
		t.Fatalf("redrove %d messages", n)
	}
	p.drain(t)
	if v := p.value(t, "x"); v != "4" {
		t.Fatalf("after the redrive: x -> %s, want 4 (batch a's stale answer replaced b's)", v)
	}
	if p.metrics.superseded != 1 {
		t.Fatalf("compute counted %d superseded writes, want 1", p.metrics.superseded)
	}
	rb, ra := p.reconcile(t, b), p.reconcile(t, a)
	if rb.Line() != "batch "+b+": total=1 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=0" || !rb.Settled() {
		t.Errorf("b: %s", rb.Line())
	}
	if ra.Line() != "batch "+a+": total=1 ok=0 error=0 rejected=0 superseded=1 dlq=0 lost=0" || !ra.Settled() {
		t.Errorf("a: %s", ra.Line())
	}
}

// S3 does not order notifications: the newer upload of a key is split
// first, the older one after it. The object is versioned: each event reads
// its own version (the fake serves the version by ETag).
func TestTwoUploadsOfOneKeySplitNewestFirst(t *testing.T) {
	p := newPipeline(nil, nil)
	versions := map[string][]byte{}
	p.objs.Opener = func(ref splitter.Ref) (io.ReadCloser, error) {
		b, ok := versions[ref.ETag]
		if !ok {
			return nil, fmt.Errorf("%w: %s@%s", splitter.ErrNotFound, ref.Key, ref.ETag)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	const key = "batches/k.json"
	upload := func(body string) (func(), string) {
		ev, id := p.upload(key, []byte(body))
		versions[ev.Records[0].S3.Object.ETag] = []byte(body)
		return func() {
			if err := p.deliver(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			p.drain(t)
		}, id
	}
	splitOld, old := upload(`{"ops": [{"name": "x", "op": "1"}, {"name": "y", "op": "2"}]}`)
	splitNew, nw := upload(`{"ops": [{"name": "x", "op": "10"}, {"name": "z", "op": "30"}, {"name": "w", "op": "0"}]}`)
	splitNew()
	splitOld()
	for name, want := range map[string]string{"x": "10", "y": "2", "z": "30", "w": "0"} {
		if v := p.value(t, name); v != want {
			t.Errorf("%s -> %s, want %s", name, v, want)
		}
	}
	if r := p.table.Items()["x"]; r.Batch != nw {
		t.Errorf("x holds %s's result, want the newer upload's", r.Batch)
	}
	if r := p.reconcile(t, old); r.OK != 1 || r.Superseded != 1 || r.Lost != 0 {
		t.Errorf("the older upload: %s, want ok=1 superseded=1", r.Line())
	}
}

// A message delivered twice (SQS is at-least-once) writes its result once:
// the second write finds this upload's result and changes nothing
// (compute.ErrAlreadyStored); a late copy never writes over a newer
// upload's.
func TestDuplicateDeliveryWritesTheSameResult(t *testing.T) {
	p := newPipeline(nil, nil)
	a := p.submit(t, "batches/a.json", `{"ops": [{"name": "x", "op": "1+1"}]}`)
	m := p.queue.Messages()[0]
	body, _ := m.Encode()
	p.sqs.Send("again", body)
	p.drain(t)
	h := p.table.History("x")
	if len(h) != 1 || h[0].Batch != a || p.table.AlreadyStored.Load() != 1 {
		t.Fatalf("history of x %+v, %d already stored: want one write of %s and one refusal", h, p.table.AlreadyStored.Load(), a)
	}
	p.submit(t, "batches/b.json", `{"ops": [{"name": "x", "op": "2+2"}]}`)
	p.sqs.Send("late", body)
	p.drain(t)
	if v := p.value(t, "x"); v != "4" || len(p.table.History("x")) != 2 {
		t.Fatalf("x -> %s after a late copy of a's message (history %d)", v, len(p.table.History("x")))
	}
}

// 10% of the calls to SQS and DynamoDB fail the way AWS fails them, and two
// uploads that share half their names are processed at once, the newer one
// split first: every op is accounted for, and no name holds the older
// upload's value.
func TestTwoUploadsUnderFaults(t *testing.T) {
	const n = 2000
	gen := func(mul int, n int) string {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, `{"name": "op_%05d", "op": "%d * %d"}`+"\n", i, i, mul)
		}
		return b.String()
	}
	mix := newFaultMix(0.10, 7)
	p := newPipeline(func(q *inmem.Queue) splitter.Queue { return lateQueue{q, mix} },
		func(w *inmem.Table) compute.ResultWriter { return lateTable{w, mix} })
	p.sqs.Rate = 0.10
	p.sqs.Weak = inmem.DefaultWeak() // and duplicates, lost deletes, throttles
	injectFaults(p, mix)
	oldEv, old := p.upload("batches/old.jsonl", []byte(gen(3, n)))
	newEv, nw := p.upload("batches/new.jsonl", []byte(gen(5, n/2)+" "))
	ctx := context.Background()
	for _, ev := range []events.S3Event{newEv, oldEv} {
		if err := p.deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.sqs.Run(ctx, p.comp.Handle, 40*n/p.sqs.BatchSize+100); err != nil {
		t.Fatal(err)
	}
	t.Logf("faults: %s; queue: %s; weak promises: %+v", mix, p.sqs, p.sqs.WeakStats)
	ro, rn := p.reconcile(t, old), p.reconcile(t, nw)
	t.Logf("%s\n%s", ro.Line(), rn.Line())
	if rn.Lost != 0 || rn.OK+rn.DLQ != n/2 || ro.Lost != 0 || ro.OK+ro.Superseded+ro.DLQ != n {
		t.Fatalf("not reconciled:\n%s\n%s", ro.Line(), rn.Line())
	}
	items := p.table.Items()
	for i := range n / 2 {
		name := fmt.Sprintf("op_%05d", i)
		if r, ok := items[name]; ok && r.Batch != nw {
			t.Errorf("%s holds the older upload's %v", name, r.Value)
		}
	}
}

// The rest of status.Source for the fake pipeline (pipeline_test.go has
// Report, Counts, Results and DLQ), and what a redrive does to the simulated queue.

func (p *pipeline) Pending(context.Context) (int, error) { return p.sqs.Pending(), nil }

func (p *pipeline) Names(ctx context.Context, rep record.Report, fn func(string) error) (bool, error) {
	etag := strings.TrimPrefix(rep.Batch, rep.Key+"@")
	body, err := p.objs.Open(ctx, splitter.Ref{Bucket: pipeBucket, Key: rep.Key, ETag: etag})
	if errors.Is(err, splitter.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer body.Close()
	f, _ := batch.FormatOf(rep.Key)
	err = batch.Scan(body, f, func(it batch.Item) error {
		if it.Reject == "" {
			return fn(it.Op.Name)
		}
		return nil
	})
	return err == nil, err
}

func (p *pipeline) Stored(_ context.Context, names []string) (map[string]record.Result, error) {
	items := p.table.Items()
	out := map[string]record.Result{}
	for _, n := range names {
		if it, ok := items[n]; ok {
			out[n] = it
		}
	}
	return out, nil
}
