package compute_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
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

var noWait = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: time.Millisecond,
	Sleep: func(context.Context, time.Duration) error { return nil }}

// fakeEval understands integers, "a+b", "bad" (an error) and "panic".
func fakeEval(expr string) (record.Value, error) {
	switch expr {
	case "bad":
		return record.Value{}, errors.New("syntax error")
	case "panic":
		panic("evaluator bug")
	case "yes":
		return record.Bool(true), nil
	}
	if a, b, ok := strings.Cut(expr, "+"); ok {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return record.Number(float64(x + y)), nil
	}
	n, err := strconv.Atoi(expr)
	if err != nil {
		return record.String(expr), nil
	}
	return record.Number(float64(n)), nil
}

func sqsEvent(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("id-%d", i), Body: b})
	}
	return ev
}

func msg(name, op, batch string) string {
	b, _ := record.Message{Batch: batch, Ops: []record.MessageOp{{Name: name, Op: op}}}.Encode()
	return b
}

func failedIDs(r events.SQSEventResponse) []string {
	var ids []string
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	sort.Strings(ids)
	return ids
}

func TestComputeWritesTypedResultsAndErrors(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, err := svc.Handle(context.Background(), sqsEvent(
		msg("1_plus_1", "1+1", "b1"), msg("bad", "bad", "b1"), msg("p", "panic", "b1"), msg("y", "yes", "b1"),
		`{"name": "x"`, // undecodable
	))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"id-4"}, failedIDs(resp)); diff != "" {
		t.Fatalf("want only the undecodable message (-want +got):\n%s", diff)
	}
	items := table.Items()
	if r := items["1_plus_1"]; r.Status != record.StatusOK || r.Value == nil || r.Value.Num != 2 || r.Batch != "b1" || r.Op != "1+1" {
		t.Errorf("1_plus_1 = %+v", r)
	}
	if r := items["bad"]; r.Status != record.StatusError || r.Error != "syntax error" || r.Value != nil {
		t.Errorf("bad = %+v", r)
	}
	if r := items["p"]; r.Status != record.StatusError || !strings.Contains(r.Error, "internal error") {
		t.Errorf("a panicking evaluation must become an error result, got %+v", r)
	}
	if r := items["y"]; r.Value == nil || r.Value.Kind != record.KindBool || !r.Value.Bool {
		t.Errorf("y = %+v", r)
	}
	if len(items) != 4 {
		t.Errorf("%d items written, want 4", len(items))
	}
}

func TestFailedWritesAreRetriedThenReported(t *testing.T) {
	var bodies []string
	for i := range 60 {
		bodies = append(bodies, msg(fmt.Sprintf("n%02d", i), strconv.Itoa(i), "b"))
	}
	table := inmem.NewTable()
	var mu sync.Mutex
	tries := map[string]int{}
	table.Fail = func(r record.Result) error {
		mu.Lock()
		defer mu.Unlock()
		tries[r.Name]++
		// n07 is always throttled; even names are throttled twice.
		n, _ := strconv.Atoi(r.Name[1:])
		if r.Name == "n07" || (n%2 == 0 && tries[r.Name] <= 2) {
			return errors.New("ProvisionedThroughputExceededException")
		}
		return nil
	}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(bodies...))
	if diff := cmp.Diff([]string{"id-7"}, failedIDs(resp)); diff != "" {
		t.Fatalf("want only the item never stored (-want +got):\n%s", diff)
	}
	items := table.Items()
	if len(items) != 59 {
		t.Fatalf("%d items stored, want 59", len(items))
	}
	if _, ok := items["n07"]; ok {
		t.Fatal("n07 stored although always throttled")
	}
	if tries["n07"] != noWait.Attempts || tries["n02"] != 3 || tries["n03"] != 1 {
		t.Fatalf("tries n07=%d n02=%d n03=%d, want %d, 3, 1", tries["n07"], tries["n02"], tries["n03"], noWait.Attempts)
	}
}

func TestPermanentWriteErrorFailsItsMessages(t *testing.T) {
	table := inmem.NewTable()
	table.Fail = func(record.Result) error {
		return retry.Permanent(errors.New("ResourceNotFoundException"))
	}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(msg("a", "1", "b"), msg("b", "2", "b")))
	if diff := cmp.Diff([]string{"id-0", "id-1"}, failedIDs(resp)); diff != "" {
		t.Fatalf("failures (-want +got):\n%s", diff)
	}
	if table.Calls.Load() != 2 {
		t.Fatalf("%d calls for 2 results: a permanent error must not be retried", table.Calls.Load())
	}
}

func TestDuplicateNamesInOneBatch(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(
		stamped("a", "1", "b1", "0001"), stamped("a", "1", "b1", "0001"), // redelivered copy: one write
		stamped("a", "2", "b2", "0002"), // a newer batch's op of the same name
		stamped("c", "3", "b1", "0001"),
	))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if n := table.Calls.Load(); n != 3 {
		t.Fatalf("%d writes, want 3 (the copy shares its original's)", n)
	}
	// Whichever of the two writes of a ran first, the newer batch's stands.
	if r := table.Items()["a"]; r.Batch != "b2" || r.Value.Num != 2 {
		t.Fatalf("a = %+v, want b2's value 2", r)
	}
}

// stamped is a message of batch with the given stamp.
func stamped(name, op, batch, stamp string) string {
	b, _ := record.Message{Batch: batch, Stamp: stamp, Ops: []record.MessageOp{{Name: name, Op: op}}}.Encode()
	return b
}

// counts records the metrics of the last invocation.
type counts struct{ last compute.Counts }

func (c *counts) Computed(x compute.Counts) { c.last = x }

func TestTheNewestUploadWinsWhateverTheOrder(t *testing.T) {
	for _, order := range []string{"older first", "newer first"} {
		t.Run(order, func(t *testing.T) {
			table := inmem.NewTable()
			m := &counts{}
			svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m})
			older := sqsEvent(stamped("x", "1+1", "batches/a.json@e1", "0000000000001-00-batches/a.json@e1"),
				stamped("y", "5", "batches/a.json@e1", "0000000000001-00-batches/a.json@e1"))
			newer := sqsEvent(stamped("x", "2+2", "batches/b.json@e2", "0000000000002-00-batches/b.json@e2"))
			first, second := older, newer
			if order == "newer first" {
				first, second = newer, older
			}
			if resp, _ := svc.Handle(context.Background(), first); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures %v", failedIDs(resp))
			}
			resp, _ := svc.Handle(context.Background(), second)
			// A refused write is final: its message is answered, not retried.
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures %v: a superseded result must not be retried", failedIDs(resp))
			}
			if r := table.Items()["x"]; r.Batch != "batches/b.json@e2" || r.Value.Num != 4 {
				t.Fatalf("x = %+v, want batch b's 4", r)
			}
			if r := table.Items()["y"]; r.Value == nil || r.Value.Num != 5 {
				t.Fatalf("y = %+v: an op the newer batch does not have stays", r)
			}
			wantSup := 0
			if order == "newer first" {
				wantSup = 1
			}
			if m.last.Superseded != wantSup || m.last.ItemFailures != 0 {
				t.Fatalf("counts of the second invocation %+v, want superseded=%d", m.last, wantSup)
			}
		})
	}
}

func TestMessageWithoutAStampIsOlderThanAnyStamp(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	svc.Handle(context.Background(), sqsEvent(stamped("x", "4", "b2", "0000000000002-00-b2")))
	svc.Handle(context.Background(), sqsEvent(msg("x", "2", "b1"))) // queued before stamps existed
	if r := table.Items()["x"]; r.Batch != "b2" {
		t.Fatalf("x = %+v: an unstamped message replaced a stamped result", r)
	}
	// An item written before stamps existed is replaced by any new write.
	table.Set(record.Result{Name: "z", Batch: "old", Status: record.StatusOK})
	svc.Handle(context.Background(), sqsEvent(stamped("z", "1", "b2", "0000000000002-00-b2")))
	if r := table.Items()["z"]; r.Batch != "b2" {
		t.Fatalf("z = %+v: an unstamped item must not block a stamped write", r)
	}
}

func TestSupersededAndFailedInOneBatchGiveAnExactResponse(t *testing.T) {
	table := inmem.NewTable()
	table.Set(record.Result{Name: "old", Batch: "b9", Stamp: "9", Status: record.StatusOK})
	table.Fail = func(r record.Result) error {
		if r.Name == "throttled" {
			return errors.New("ThrottlingException")
		}
		return nil
	}
	m := &counts{}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m})
	resp, _ := svc.Handle(context.Background(), sqsEvent(
		stamped("old", "1", "b1", "1"), stamped("throttled", "2", "b1", "1"), stamped("fine", "3", "b1", "1")))
	if diff := cmp.Diff([]string{"id-1"}, failedIDs(resp)); diff != "" {
		t.Fatalf("want only the throttled write's message (-want +got):\n%s", diff)
	}
	if m.last.Superseded != 1 || m.last.ItemFailures != 1 || m.last.OK != 3 || m.last.WriteCalls != 2+noWait.Attempts || m.last.Retries != noWait.Attempts-1 {
		t.Fatalf("counts %+v", m.last)
	}
}

func TestRedeliveryLeavesTheSameItem(t *testing.T) {
	table := inmem.NewTable()
	m := &counts{}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m})
	ev := sqsEvent(msg("a", "1+2", "b"))
	for range 3 {
		if resp, _ := svc.Handle(context.Background(), ev); len(resp.BatchItemFailures) != 0 {
			t.Fatal("unexpected failure")
		}
	}
	// The item holds this upload's result after the first: the writer
	// answers ErrAlreadyStored, which is final and changes nothing.
	if h := table.History("a"); len(h) != 1 || h[0].Value.Num != 3 {
		t.Fatalf("a written %+v for 3 deliveries, want once (a redelivery leaves its item)", h)
	}
	if m.last.AlreadyStored != 1 || m.last.ItemFailures != 0 {
		t.Fatalf("counts of the last delivery %+v, want already_stored=1", m.last)
	}
}

// deadlineWriter fails every call and records the deadline it was given.
type deadlineWriter struct {
	mu       sync.Mutex
	deadline time.Time
	calls    int
}

func (w *deadlineWriter) Put(ctx context.Context, r record.Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline, _ = ctx.Deadline()
	w.calls++
	return errors.New("InternalServerError")
}

func TestDeadlineLeavesTimeToAnswer(t *testing.T) {
	w := &deadlineWriter{}
	svc := compute.New(w, compute.Expressions(fakeEval), compute.Config{
		Retry:  retry.Policy{Attempts: 1_000_000, Base: 5 * time.Millisecond, Max: 5 * time.Millisecond},
		Margin: 500 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond) // ops stop two margins before, writes one
	defer cancel()
	outer, _ := ctx.Deadline()
	resp, err := svc.Handle(ctx, sqsEvent(msg("a", "1", "b"), msg("b", "2", "b")))
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Handle returned after the invocation's deadline")
	}
	if want := outer.Add(-500 * time.Millisecond); !w.deadline.Equal(want) {
		t.Fatalf("writes ran with deadline %v, want the invocation's minus the margin (%v)", w.deadline, want)
	}
	if diff := cmp.Diff([]string{"id-0", "id-1"}, failedIDs(resp)); diff != "" {
		t.Fatalf("want both messages (not stored) (-want +got):\n%s", diff)
	}
}

func TestEmptyMessageIDFailsTheBatch(t *testing.T) {
	svc := compute.New(inmem.NewTable(), compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	ev := sqsEvent(msg("a", "1", "b"))
	ev.Records[0].MessageId = ""
	if _, err := svc.Handle(context.Background(), ev); err == nil {
		t.Fatal("a record without a message id must fail the invocation")
	}
}

// gateWriter counts the writes in flight at once.
type gateWriter struct {
	mu            sync.Mutex
	now, max, all int
}

func (w *gateWriter) Put(ctx context.Context, r record.Result) error {
	w.mu.Lock()
	w.now++
	w.all++
	w.max = max(w.max, w.now)
	w.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	w.mu.Lock()
	w.now--
	w.mu.Unlock()
	return nil
}

func TestOneWritePerResultWithBoundedConcurrency(t *testing.T) {
	var bodies []string
	for i := range 100 {
		bodies = append(bodies, msg(fmt.Sprintf("n%d", i), "1", "b"))
	}
	w := &gateWriter{}
	svc := compute.New(w, compute.Expressions(fakeEval), compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(bodies...))
	if len(resp.BatchItemFailures) != 0 || w.all != 100 {
		t.Fatalf("failures %d, writes %d, want 0 and 100", len(resp.BatchItemFailures), w.all)
	}
	if w.max > compute.DefaultConcurrency || w.max < 2 {
		t.Fatalf("%d writes in flight at most, want 2..%d", w.max, compute.DefaultConcurrency)
	}
}

// TestNoTimeLeftFailsEveryMessage: an invocation that starts with less time
// than the margin writes nothing and lists every message as failed, so SQS
// redelivers them. Answering "all done" instead would delete the messages
// with their results never stored: ops lost.
func TestNoTimeLeftFailsEveryMessage(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Margin: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	resp, err := svc.Handle(ctx, sqsEvent(msg("a", "1", "b"), msg("b", "2", "b"), msg("c", "3", "b")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"id-0", "id-1", "id-2"}, failedIDs(resp)); diff != "" {
		t.Fatalf("want every message (none could be stored in time) (-want +got):\n%s", diff)
	}
	if c := table.Calls.Load(); c != 0 || len(table.Items()) != 0 {
		t.Fatalf("%d write calls, %d items: nothing may be written past the margin", c, len(table.Items()))
	}
}

// TestWriteAttemptsAreExactlyThePolicys: Retry.Attempts counts every try,
// the first included; an item whose write always fails (throttled) is tried
// exactly that many times and then reported.
func TestWriteAttemptsAreExactlyThePolicys(t *testing.T) {
	for _, attempts := range []int{1, 2, 4} {
		table := inmem.NewTable()
		table.Fail = func(record.Result) error { return errors.New("throttled") }
		p := noWait
		p.Attempts = attempts
		svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: p})
		resp, _ := svc.Handle(context.Background(), sqsEvent(msg("a", "1", "b")))
		if diff := cmp.Diff([]string{"id-0"}, failedIDs(resp)); diff != "" {
			t.Fatalf("attempts=%d: failures (-want +got):\n%s", attempts, diff)
		}
		if c := table.Calls.Load(); c != int64(attempts) {
			t.Errorf("attempts=%d: %d write calls, want exactly %d", attempts, c, attempts)
		}
	}
}

// TestMetricsCountWhatHappened: one Computed call per batch, with the ops
// evaluated to a value and to an error (a redelivered copy counts once),
// the messages listed as failed, the write calls and the retries.
func TestMetricsCountWhatHappened(t *testing.T) {
	table := inmem.NewTable()
	first := true
	table.Fail = func(r record.Result) error {
		if r.Name == "b" && first { // b's first write is throttled
			first = false
			return errors.New("throttled")
		}
		return nil
	}
	m := &recordMetrics{}
	svc := compute.New(table, compute.Expressions(fakeEval), compute.Config{Retry: noWait, Metrics: m})
	_, err := svc.Handle(context.Background(), sqsEvent(
		msg("a", "1", "b1"), msg("b", "2", "b1"), msg("c", "bad", "b1"), msg("a", "1", "b1"), `{"name": "x"`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := compute.Counts{OK: 2, Error: 1, ItemFailures: 1, WriteCalls: 4, Retries: 1}
	if len(m.got) != 1 || m.got[0] != want {
		t.Fatalf("Computed calls %+v, want one with %+v", m.got, want)
	}
}

type recordMetrics struct{ got []compute.Counts }

func (m *recordMetrics) Computed(c compute.Counts) { m.got = append(m.got, c) }
