package compute_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

const (
	batchA = "batches/a.json@v1"
	stampA = "0000000000001-00-batches/a.json@v1"
	batchB = "batches/b.json@v2"
	stampB = "0000000000002-00-batches/b.json@v2"
)

// pack is the body of a message of batch/stamp carrying ops "name=op".
func pack(batch, stamp string, ops ...string) string {
	m := record.Message{Batch: batch, Stamp: stamp}
	for i, o := range ops {
		name, op, _ := strings.Cut(o, "=")
		m.Ops = append(m.Ops, record.MessageOp{Name: name, Op: op, Index: i})
	}
	b, err := m.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// delivery is an SQS event of bodies, each received receives times.
func delivery(receives int, bodies ...string) events.SQSEvent {
	ev := sqsEvent(bodies...)
	for i := range ev.Records {
		ev.Records[i].Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives)}
	}
	return ev
}

// flaky fails the ops named in fail transiently, the others as fakeEval.
func flaky(fail map[string]bool) compute.Func {
	expr := compute.Expressions(fakeEval)
	var mu sync.Mutex
	return func(ctx context.Context, op compute.Op) (record.Value, error) {
		mu.Lock()
		bad := fail[op.Name]
		mu.Unlock()
		if bad {
			return record.Value{}, errors.New("the service is busy")
		}
		return expr(ctx, op)
	}
}

// A pack is answered only when every op in it is final: one transient op
// leaves the whole message for SQS. On the redelivery the stored ops are
// read (one call) and skipped, not computed or written again, and only
// the new result is counted.
func TestPackWithATransientOpIsRetriedWholeWithoutRewritingItsStoredOps(t *testing.T) {
	table := inmem.NewTable()
	tallier := &inmem.Tallier{}
	fail := map[string]bool{"b": true}
	m := &counts{}
	svc := compute.New(table, flaky(fail), compute.Config{Retry: noWait, Metrics: m, Stored: table, Tallier: tallier})
	body := pack(batchA, stampA, "a=1", "b=2", "c=bad", "d=4")

	resp, _ := svc.Handle(context.Background(), delivery(1, body))
	if d := cmp.Diff([]string{"id-0"}, failedIDs(resp)); d != "" {
		t.Fatalf("first delivery: failures (-want +got):\n%s", d)
	}
	if n := table.Calls.Load(); n != 3 {
		t.Fatalf("%d writes, want 3 (a, c as an error result, d)", n)
	}
	if table.Reads.Load() != 0 {
		t.Fatal("a first delivery read the table")
	}
	want := map[string]compute.Tally{batchA: {Batch: batchA, OK: 2, Error: 1}}
	if d := cmp.Diff(want, tallier.Counts()); d != "" {
		t.Fatalf("counters after the first delivery (-want +got):\n%s", d)
	}

	fail["b"] = false
	resp, _ = svc.Handle(context.Background(), delivery(2, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: failures %v", failedIDs(resp))
	}
	if n := table.Calls.Load(); n != 4 {
		t.Fatalf("%d writes in all, want 4: the redelivery writes b only", n)
	}
	if n := table.Reads.Load(); n != 1 {
		t.Fatalf("%d reads, want one for the redelivered pack", n)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if h := table.History(name); len(h) != 1 {
			t.Errorf("%s written %d times, want once", name, len(h))
		}
	}
	want[batchA] = compute.Tally{Batch: batchA, OK: 3, Error: 1}
	if d := cmp.Diff(want, tallier.Counts()); d != "" {
		t.Fatalf("counters after the redelivery (-want +got):\n%s", d)
	}
	if m.last.Skipped != 3 || m.last.OK != 1 || m.last.AlreadyStored != 0 {
		t.Fatalf("redelivery's counts %+v, want 3 skipped and 1 computed", m.last)
	}
}

// An op whose result cannot be stored leaves its message for SQS; the
// other messages of the event are answered.
func TestPackWithAnUnstorableWriteIsRetried(t *testing.T) {
	table := inmem.NewTable()
	table.Fail = func(r record.Result) error {
		if r.Name == "throttled" {
			return errors.New("ProvisionedThroughputExceededException")
		}
		return nil
	}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), delivery(1,
		pack(batchA, stampA, "a=1", "throttled=2"), pack(batchA, stampA, "c=3", "d=4")))
	if d := cmp.Diff([]string{"id-0"}, failedIDs(resp)); d != "" {
		t.Fatalf("failures (-want +got):\n%s", d)
	}
	if _, ok := table.Items()["a"]; !ok {
		t.Fatal("a was not stored")
	}
}

// Without Stored, a redelivered pack is computed again and its stored ops
// are refused as already stored: final, answered, never counted.
func TestAlreadyStoredIsFinalAndNotCounted(t *testing.T) {
	table := inmem.NewTable()
	tallier := &inmem.Tallier{}
	m := &counts{}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m, Tallier: tallier})
	body := pack(batchA, stampA, "a=1", "b=2")
	svc.Handle(context.Background(), delivery(1, body))
	resp, _ := svc.Handle(context.Background(), delivery(2, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if m.last.AlreadyStored != 2 || m.last.Superseded != 0 {
		t.Fatalf("counts %+v, want 2 already stored", m.last)
	}
	want := map[string]compute.Tally{batchA: {Batch: batchA, OK: 2}}
	if d := cmp.Diff(want, tallier.Counts()); d != "" {
		t.Fatalf("counters (-want +got):\n%s", d)
	}
}

// Copies of one message in one event (SQS delivers at least once) share
// one computation and one write, and both are answered.
func TestDuplicatePacksInOneEventShareOneComputation(t *testing.T) {
	table := inmem.NewTable()
	tallier := &inmem.Tallier{}
	var mu sync.Mutex
	calls := map[string]int{}
	expr := compute.Expressions(fakeEval)
	f := func(ctx context.Context, op compute.Op) (record.Value, error) {
		mu.Lock()
		calls[op.Name]++
		mu.Unlock()
		return expr(ctx, op)
	}
	svc := compute.New(table, f, compute.Config{Retry: noWait, Tallier: tallier})
	body := pack(batchA, stampA, "a=1", "b=2", "c=3")
	resp, _ := svc.Handle(context.Background(), delivery(1, body, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if d := cmp.Diff(map[string]int{"a": 1, "b": 1, "c": 1}, calls); d != "" {
		t.Fatalf("computations (-want +got):\n%s", d)
	}
	if n := table.Calls.Load(); n != 3 {
		t.Fatalf("%d writes, want 3", n)
	}
	if d := cmp.Diff(map[string]compute.Tally{batchA: {Batch: batchA, OK: 3}}, tallier.Counts()); d != "" {
		t.Fatalf("counters (-want +got):\n%s", d)
	}
}

// One Add per invocation with one Tally per upload: results newly stored
// by status, and refusals as superseded of first deliveries only.
func TestTallyPerBatch(t *testing.T) {
	table := inmem.NewTable()
	table.Set(record.Result{Name: "taken", Batch: batchB, Stamp: stampB, Status: record.StatusOK})
	table.Set(record.Result{Name: "taken2", Batch: batchB, Stamp: stampB, Status: record.StatusOK})
	var got [][]compute.Tally
	tallier := &inmem.Tallier{Fail: func(ts []compute.Tally) error {
		got = append(got, append([]compute.Tally(nil), ts...))
		return nil
	}}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Tallier: tallier})
	resp, _ := svc.Handle(context.Background(), events.SQSEvent{Records: append(
		delivery(1, pack(batchA, stampA, "a=1", "e=bad", "taken=3"), pack(batchB, stampB, "x=5")).Records,
		events.SQSMessage{MessageId: "again", Body: pack(batchA, stampA, "taken2=1"), Attributes: map[string]string{"ApproximateReceiveCount": "3"}})})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	want := [][]compute.Tally{{
		{Batch: batchA, Stamp: stampA, OK: 1, Error: 1, Superseded: 1},
		{Batch: batchB, Stamp: stampB, OK: 1},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Add calls (-want +got):\n%s", d)
	}
}

// A Tallier that keeps failing is retried under the policy, counted in
// the metrics, and the messages are answered all the same (status then
// finds counts that do not close and reconciles by names).
func TestTallyFailureStillAnswersTheMessages(t *testing.T) {
	table := inmem.NewTable()
	tallier := &inmem.Tallier{Fail: func([]compute.Tally) error { return errors.New("ThrottlingException") }}
	m := &counts{}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m, Tallier: tallier})
	resp, _ := svc.Handle(context.Background(), delivery(1, pack(batchA, stampA, "a=1")))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if tallier.Calls != noWait.Attempts || m.last.TallyFailures != 1 {
		t.Fatalf("%d Add calls, counts %+v: want %d attempts and one tally failure", tallier.Calls, m.last, noWait.Attempts)
	}
	if _, ok := table.Items()["a"]; !ok {
		t.Fatal("a was not stored")
	}
}

// A permanent Tallier error is not retried.
func TestPermanentTallyFailureIsNotRetried(t *testing.T) {
	tallier := &inmem.Tallier{Fail: func([]compute.Tally) error { return retry.Permanent(errors.New("AccessDenied")) }}
	svc := compute.New(inmem.NewTable(), compute.Expressions(fakeEval), compute.Config{Retry: noWait, Tallier: tallier})
	svc.Handle(context.Background(), delivery(1, pack(batchA, stampA, "a=1")))
	if tallier.Calls != 1 {
		t.Fatalf("%d Add calls, want 1", tallier.Calls)
	}
}

// On a redelivery, an op whose name holds a newer upload's result is
// skipped (final, not written, not counted); a failed read skips nothing.
func TestRedeliveredOpsOfANewerUploadAreSkipped(t *testing.T) {
	for _, failRead := range []bool{false, true} {
		t.Run(fmt.Sprint("failed read ", failRead), func(t *testing.T) {
			table := inmem.NewTable()
			table.Set(record.Result{Name: "x", Batch: batchB, Stamp: stampB, Status: record.StatusOK})
			if failRead {
				table.FailGet = func([]string) error { return errors.New("InternalServerError") }
			}
			tallier := &inmem.Tallier{}
			svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Stored: table, Tallier: tallier})
			resp, _ := svc.Handle(context.Background(), delivery(2, pack(batchA, stampA, "x=1", "y=2")))
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures %v", failedIDs(resp))
			}
			wantWrites := int64(1) // y
			if failRead {
				wantWrites = 2 // x too, refused as superseded
			}
			if n := table.Calls.Load(); n != wantWrites {
				t.Fatalf("%d writes, want %d", n, wantWrites)
			}
			if r := table.Items()["x"]; r.Batch != batchB {
				t.Fatalf("x = %+v, want the newer upload's", r)
			}
			// A refusal of a redelivered op is not counted: the first
			// delivery may have counted it.
			if d := cmp.Diff(map[string]compute.Tally{batchA: {Batch: batchA, OK: 1}}, tallier.Counts()); d != "" {
				t.Fatalf("counters (-want +got):\n%s", d)
			}
		})
	}
}

// A message queued before packs existed (one op, the old form) is
// computed as a pack of one.
func TestOldOneOpBodyIsComputed(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	body := `{"name":"old","op":"40+2","batch":"batches/a.json@v1","index":3,"stamp":"` + stampA + `"}`
	resp, _ := svc.Handle(context.Background(), delivery(1, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if r := table.Items()["old"]; r.Value == nil || r.Value.Num != 42 || r.Stamp != stampA || r.Batch != batchA {
		t.Fatalf("old = %+v", r)
	}
}

// stalledWrites never stores the ops it names: each write waits for its
// context to end (DynamoDB throttling until the deadline).
type stalledWrites struct {
	*inmem.Table
	stall map[string]bool
}

func (w stalledWrites) Put(ctx context.Context, r record.Result) error {
	if w.stall[r.Name] {
		<-ctx.Done()
		return ctx.Err()
	}
	return w.Table.Put(ctx, r)
}

// ctxTallier records the tallies and whether its context was still live.
type ctxTallier struct {
	got  []compute.Tally
	live bool
}

func (c *ctxTallier) Add(ctx context.Context, ts []compute.Tally) error {
	c.got, c.live = append(c.got, ts...), ctx.Err() == nil
	return ctx.Err()
}

// Writes that retry until the deadline leave time for the counter update:
// the results the invocation did store are counted.
func TestTallyHasTimeAfterStalledWrites(t *testing.T) {
	w := stalledWrites{Table: inmem.NewTable(), stall: map[string]bool{"slow": true}}
	tallier := &ctxTallier{}
	svc := compute.New(w, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Tallier: tallier, Margin: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, _ := svc.Handle(ctx, delivery(1, pack(batchA, stampA, "fast=1", "slow=2")))
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %v, want the pack's message", failedIDs(resp))
	}
	want := []compute.Tally{{Batch: batchA, Stamp: stampA, OK: 1}}
	if d := cmp.Diff(want, tallier.got); d != "" || !tallier.live {
		t.Fatalf("Add got a live context: %v; tallies (-want +got):\n%s", tallier.live, d)
	}
}

// A message of a splitter with the json op rules carries ops that are any
// JSON value: a user's function gets each exactly as the batch file held
// it, and memo's evaluator answers one that is not a string with an error
// result saying why, never a retry.
func TestOpsOfAnyJSONValue(t *testing.T) {
	body, err := record.Message{Batch: batchA, Stamp: stampA, Ops: []record.MessageOp{
		{Name: "obj", Op: `{"key": "photos/0001.jpg"}`, Raw: true},
		{Name: "num", Op: `42`, Raw: true, Index: 1},
		{Name: "str", Op: `1+1`, Index: 2},
	}}.Encode()
	if err != nil {
		t.Fatal(err)
	}

	table := inmem.NewTable()
	var mu sync.Mutex
	seen := map[string]string{}
	user := func(_ context.Context, op compute.Op) (record.Value, error) {
		mu.Lock()
		seen[op.Name] = string(op.Payload)
		mu.Unlock()
		return record.Null(), nil
	}
	resp, _ := compute.New(table, user, compute.Config{Retry: noWait}).Handle(context.Background(), delivery(1, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if d := cmp.Diff(map[string]string{"obj": `{"key": "photos/0001.jpg"}`, "num": `42`, "str": `"1+1"`}, seen); d != "" {
		t.Errorf("payloads (-want +got):\n%s", d)
	}
	if r := table.Items()["obj"]; r.Op != `{"key": "photos/0001.jpg"}` || r.Status != record.StatusOK {
		t.Errorf("obj = %+v: the stored op is the value's JSON text", r)
	}

	table = inmem.NewTable()
	resp, _ = compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait}).Handle(context.Background(), delivery(1, body))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("memo's evaluator retries %v", failedIDs(resp))
	}
	items := table.Items()
	for name, kind := range map[string]string{"obj": "a JSON object", "num": "a JSON number"} {
		if r := items[name]; r.Status != record.StatusError || !strings.HasPrefix(r.Error, "the op is "+kind+", not an expression string") {
			t.Errorf("%s = %+v", name, r)
		}
	}
	if r := items["str"]; r.Status != record.StatusOK || r.Value == nil || r.Value.Num != 2 {
		t.Errorf("str = %+v", r)
	}
}
