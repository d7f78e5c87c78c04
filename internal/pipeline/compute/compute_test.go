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
	b, _ := record.Message{Name: name, Op: op, Batch: batch}.Encode()
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
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	resp, err := svc.Handle(context.Background(), sqsEvent(
		msg("1_plus_1", "1+1", "b1"), msg("bad", "bad", "b1"), msg("p", "panic", "b1"), msg("y", "yes", "b1"),
		`{"name": "x"`, // undecodable
	))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); fmt.Sprint(got) != "[id-4]" {
		t.Fatalf("failures %v, want only the undecodable message", got)
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

func TestUnprocessedItemsAreRetriedThenReported(t *testing.T) {
	var bodies []string
	for i := range 60 {
		bodies = append(bodies, msg(fmt.Sprintf("n%02d", i), strconv.Itoa(i), "b"))
	}
	table := inmem.NewTable()
	var mu sync.Mutex
	tries := map[string]int{}
	table.Fail = func(rs []record.Result) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		first := false
		for _, r := range rs {
			tries[r.Name]++
			first = first || tries[r.Name] == 1
		}
		// The first call of a chunk that holds n13 fails as a whole.
		for _, r := range rs {
			if r.Name == "n13" && tries[r.Name] == 1 {
				return nil, errors.New("ProvisionedThroughputExceededException")
			}
		}
		var un []string
		for _, r := range rs {
			// n07 is never processed; even names are unprocessed twice.
			n, _ := strconv.Atoi(r.Name[1:])
			if r.Name == "n07" || (n%2 == 0 && tries[r.Name] <= 2) {
				un = append(un, r.Name)
			}
		}
		return un, nil
	}
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(bodies...))
	if got := failedIDs(resp); fmt.Sprint(got) != "[id-7]" {
		t.Fatalf("failures %v, want [id-7] (the item never processed)", got)
	}
	items := table.Items()
	if len(items) != 59 {
		t.Fatalf("%d items stored, want 59", len(items))
	}
	if _, ok := items["n07"]; ok {
		t.Fatal("n07 stored although always unprocessed")
	}
}

func TestPermanentWriteErrorFailsItsMessages(t *testing.T) {
	table := inmem.NewTable()
	table.Fail = func([]record.Result) ([]string, error) {
		return nil, retry.Permanent(errors.New("ResourceNotFoundException"))
	}
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(msg("a", "1", "b"), msg("b", "2", "b")))
	if got := failedIDs(resp); fmt.Sprint(got) != "[id-0 id-1]" {
		t.Fatalf("failures %v", got)
	}
	if table.Calls.Load() != 1 {
		t.Fatalf("%d calls: a permanent error must not be retried", table.Calls.Load())
	}
}

func TestDuplicateNamesInOneBatch(t *testing.T) {
	table := inmem.NewTable() // rejects duplicate keys in one call, as DynamoDB does
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(
		msg("a", "1", "b1"), msg("a", "1", "b1"), // redelivered copy: one write
		msg("a", "2", "b2"), // another batch's op of the same name
		msg("c", "3", "b1"),
	))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failedIDs(resp))
	}
	if n := len(table.History("a")); n != 2 {
		t.Fatalf("a written %d times, want 2 (one per batch)", n)
	}
}

func TestRedeliveryLeavesTheSameItem(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	ev := sqsEvent(msg("a", "1+2", "b"))
	for range 3 {
		if resp, _ := svc.Handle(context.Background(), ev); len(resp.BatchItemFailures) != 0 {
			t.Fatal("unexpected failure")
		}
	}
	h := table.History("a")
	if len(h) != 3 {
		t.Fatalf("a written %d times for 3 deliveries, want 3 (a redelivery rewrites its item)", len(h))
	}
	for _, r := range h[1:] {
		if r.Name != h[0].Name || r.Op != h[0].Op || r.Status != h[0].Status || *r.Value != *h[0].Value || r.Batch != h[0].Batch {
			t.Fatalf("redelivery wrote %+v after %+v", r, h[0])
		}
	}
}

// deadlineWriter fails every call and records the deadline it was given.
type deadlineWriter struct {
	mu       sync.Mutex
	deadline time.Time
	calls    int
}

func (w *deadlineWriter) WriteBatch(ctx context.Context, rs []record.Result) ([]record.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline, _ = ctx.Deadline()
	w.calls++
	return nil, errors.New("InternalServerError")
}

func TestDeadlineLeavesTimeToAnswer(t *testing.T) {
	w := &deadlineWriter{}
	svc := compute.New(w, fakeEval, compute.Config{
		Retry:  retry.Policy{Attempts: 1_000_000, Base: 5 * time.Millisecond, Max: 5 * time.Millisecond},
		Margin: 500 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
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
	if got := failedIDs(resp); fmt.Sprint(got) != "[id-0 id-1]" {
		t.Fatalf("failures %v, want both messages (not stored)", got)
	}
}

func TestEmptyMessageIDFailsTheBatch(t *testing.T) {
	svc := compute.New(inmem.NewTable(), fakeEval, compute.Config{Retry: noWait})
	ev := sqsEvent(msg("a", "1", "b"))
	ev.Records[0].MessageId = ""
	if _, err := svc.Handle(context.Background(), ev); err == nil {
		t.Fatal("a record without a message id must fail the invocation")
	}
}

func TestChunksRespectTheLimit(t *testing.T) {
	var bodies []string
	for i := range 100 {
		bodies = append(bodies, msg(fmt.Sprintf("n%d", i), "1", "b"))
	}
	table := inmem.NewTable() // fails a call of more than 25 items
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait})
	resp, _ := svc.Handle(context.Background(), sqsEvent(bodies...))
	if len(resp.BatchItemFailures) != 0 || len(table.Items()) != 100 {
		t.Fatalf("failures %d, items %d", len(resp.BatchItemFailures), len(table.Items()))
	}
	if c := table.Calls.Load(); c != 4 {
		t.Fatalf("%d write calls for 100 items, want 4", c)
	}
}

// TestNoTimeLeftFailsEveryMessage: an invocation that starts with less time
// than the margin writes nothing and lists every message as failed, so SQS
// redelivers them. Answering "all done" instead would delete the messages
// with their results never stored: ops lost.
func TestNoTimeLeftFailsEveryMessage(t *testing.T) {
	table := inmem.NewTable()
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait, Margin: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	resp, err := svc.Handle(ctx, sqsEvent(msg("a", "1", "b"), msg("b", "2", "b"), msg("c", "3", "b")))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); fmt.Sprint(got) != "[id-0 id-1 id-2]" {
		t.Fatalf("failures %v, want every message (none could be stored in time)", got)
	}
	if c := table.Calls.Load(); c != 0 || len(table.Items()) != 0 {
		t.Fatalf("%d write calls, %d items: nothing may be written past the margin", c, len(table.Items()))
	}
}

// TestWriteAttemptsAreExactlyThePolicys: Retry.Attempts counts every try,
// the first included; an item that is never processed is tried exactly that
// many times and then reported.
func TestWriteAttemptsAreExactlyThePolicys(t *testing.T) {
	for _, attempts := range []int{1, 2, 4} {
		table := inmem.NewTable()
		table.Fail = func(rs []record.Result) ([]string, error) {
			var un []string
			for _, r := range rs {
				un = append(un, r.Name)
			}
			return un, nil
		}
		p := noWait
		p.Attempts = attempts
		svc := compute.New(table, fakeEval, compute.Config{Retry: p})
		resp, _ := svc.Handle(context.Background(), sqsEvent(msg("a", "1", "b")))
		if got := failedIDs(resp); fmt.Sprint(got) != "[id-0]" {
			t.Fatalf("attempts=%d: failures %v, want [id-0]", attempts, got)
		}
		if c := table.Calls.Load(); c != int64(attempts) {
			t.Errorf("attempts=%d: %d write calls, want exactly %d", attempts, c, attempts)
		}
	}
}

type metricsRecord struct{ ok, failed, itemFailures, writeCalls, retries int }

type recordMetrics struct{ got []metricsRecord }

func (m *recordMetrics) Computed(ok, failed, itemFailures, writeCalls, retries int) {
	m.got = append(m.got, metricsRecord{ok, failed, itemFailures, writeCalls, retries})
}

// TestMetricsCountWhatHappened: one Computed call per batch, with the ops
// evaluated to a value and to an error (a redelivered copy counts once),
// the messages listed as failed, the write calls and the retries.
func TestMetricsCountWhatHappened(t *testing.T) {
	table := inmem.NewTable()
	first := true
	table.Fail = func(rs []record.Result) ([]string, error) {
		if first { // the first call leaves "b" unprocessed
			first = false
			return []string{"b"}, nil
		}
		return nil, nil
	}
	m := &recordMetrics{}
	svc := compute.New(table, fakeEval, compute.Config{Retry: noWait, Metrics: m})
	_, err := svc.Handle(context.Background(), sqsEvent(
		msg("a", "1", "b1"), msg("b", "2", "b1"), msg("c", "bad", "b1"), msg("a", "1", "b1"), `{"name": "x"`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := metricsRecord{ok: 2, failed: 1, itemFailures: 1, writeCalls: 2, retries: 1}
	if len(m.got) != 1 || m.got[0] != want {
		t.Fatalf("Computed calls %+v, want one with %+v", m.got, want)
	}
}
