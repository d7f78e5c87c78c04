package fn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
)

// harness runs f in memo's compute service over the in-memory table.
type harness struct {
	table *inmem.Table
	svc   *compute.Service
}

func newHarness(f Func, opts Options) *harness {
	h := &harness{table: inmem.NewTable()}
	cc := opts.config()
	h.svc = compute.New(h.table, wrap(f), cc)
	return h
}

// handle sends one SQS batch with one message per op (the op text is the
// payload, a JSON string) and returns the ids of the messages left for SQS.
func (h *harness) handle(t *testing.T, ctx context.Context, ops ...string) []string {
	t.Helper()
	var ev events.SQSEvent
	for i, op := range ops {
		body, err := record.Message{Batch: "b1", Ops: []record.MessageOp{{Name: fmt.Sprintf("op-%d", i), Op: op, Index: i}}}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: body})
	}
	resp, err := h.svc.Handle(ctx, ev)
	if err != nil {
		t.Fatalf("Handle failed the whole batch: %v", err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// stored is the table's results as "status value-or-error", by op name.
func (h *harness) stored() map[string]string {
	out := map[string]string{}
	for name, r := range h.table.Items() {
		if r.Status == record.StatusOK {
			out[name] = "ok " + r.Value.String()
		} else {
			out[name] = "error " + r.Error
		}
	}
	return out
}

var errThrottled = errors.New("SlowDown: please reduce your request rate")

// byOp behaves as the op's text says.
func byOp(ctx context.Context, op Op) (any, error) {
	var s string
	if err := op.Decode(&s); err != nil {
		return nil, Permanent(err)
	}
	switch s {
	case "transient":
		return nil, errThrottled
	case "permanent":
		return nil, Permanent(fmt.Errorf("object %q is missing", op.Name))
	case "wrapped-permanent":
		return nil, fmt.Errorf("reading: %w", Permanent(errors.New("no such key")))
	case "panic":
		var m map[string]int
		m["x"]++ // a nil map write: the kind of bug a panic is
	case "sleep":
		<-ctx.Done()
		return nil, ctx.Err()
	case "hang":
		time.Sleep(time.Hour) // ignores its context
	}
	return map[string]any{"op": s, "index": op.Index, "batch": op.Batch}, nil
}

func TestErrorsAreTransientUnlessPermanentAndPanicsAreErrorResults(t *testing.T) {
	h := newHarness(byOp, Options{})
	failed := h.handle(t, context.Background(), "fine", "transient", "permanent", "wrapped-permanent", "panic")
	if d := cmp.Diff([]string{"m1"}, failed); d != "" {
		t.Errorf("messages left for SQS (-want +got):\n%s", d)
	}
	want := map[string]string{
		"op-0": `ok {"batch":"b1","index":0,"op":"fine"}`,
		"op-2": `error object "op-2" is missing`,
		"op-3": `error reading: no such key`,
		"op-4": `error internal error computing op: assignment to entry in nil map`,
	}
	if d := cmp.Diff(want, h.stored()); d != "" {
		t.Errorf("stored results (-want +got):\n%s", d)
	}
}

func TestAnOpThatOutlivesItsTimeLimitIsRetriedAndLeftBehind(t *testing.T) {
	h := newHarness(byOp, Options{OpTimeout: 50 * time.Millisecond})
	start := time.Now()
	failed := h.handle(t, context.Background(), "sleep", "hang", "fine")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the invocation took %v: an op that ignores its context held it", took)
	}
	if d := cmp.Diff([]string{"m0", "m1"}, failed); d != "" {
		t.Errorf("messages left for SQS (-want +got):\n%s", d)
	}
	if got := h.stored(); len(got) != 1 || got["op-2"] == "" {
		t.Errorf("stored %v, want only op-2", got)
	}
}

func TestTheInvocationsDeadlineIsKept(t *testing.T) {
	// Ops one at a time, each taking 100ms, and a
	// deadline (550ms); compute stops the ops two margins (here 100ms each) before
	// it and the writes one margin before it: some ops are stored, the rest
	// are left for SQS, and the response comes before the deadline.
	slow := func(ctx context.Context, op Op) (any, error) {
		select {
		case <-time.After(100 * time.Millisecond):
			return true, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	table := inmem.NewTable()
	cc := Options{Concurrency: 1, OpTimeout: time.Minute}.config()
	cc.Margin = 100 * time.Millisecond
	svc := compute.New(table, wrap(slow), cc)
	var ev events.SQSEvent
	for i := range 10 {
		body, _ := record.Message{Batch: "b", Ops: []record.MessageOp{{Name: fmt.Sprint(i), Op: "x"}}}.Encode()
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint(i), Body: body})
	}
	deadline := time.Now().Add(550 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	resp, err := svc.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().After(deadline) {
		t.Errorf("the response came %v after the deadline", time.Since(deadline))
	}
	stored := len(table.Items())
	if stored == 0 || stored == 10 || stored+len(resp.BatchItemFailures) != 10 {
		t.Errorf("%d stored and %d left for SQS, want some of each summing to 10", stored, len(resp.BatchItemFailures))
	}
}

func TestOpsRunConcurrentlyUpToTheSetting(t *testing.T) {
	for _, limit := range []int{1, 3, 8} {
		var now, peak atomic.Int32
		var mu sync.Mutex
		f := func(ctx context.Context, op Op) (any, error) {
			n := now.Add(1)
			mu.Lock()
			peak.Store(max(peak.Load(), n))
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			now.Add(-1)
			return nil, nil
		}
		h := newHarness(f, Options{Concurrency: limit})
		ops := make([]string, 16)
		for i := range ops {
			ops[i] = "x"
		}
		if failed := h.handle(t, context.Background(), ops...); len(failed) != 0 {
			t.Fatalf("limit %d: %v left for SQS", limit, failed)
		}
		if got := int(peak.Load()); got != limit {
			t.Errorf("limit %d: %d ops ran at once", limit, got)
		}
	}
}

type shape struct {
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

func TestEveryJSONValueTypeIsStoredAsItIs(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"null", nil, `null`},
		{"bool", true, `true`},
		{"int", 48213, `48213`},
		{"largest exact int", int64(1 << 53), `9007199254740992`},
		{"float", -0.5, `-0.5`},
		{"string", "héllo", `"héllo"`},
		{"slice", []any{1, "a", nil, []int{}}, `[1,"a",null,[]]`},
		{"map", map[string]any{"b": false, "a": map[string]int{}}, `{"a":{},"b":false}`},
		{"struct", shape{SHA256: "ab", Bytes: 3}, `{"bytes":3,"sha256":"ab"}`},
		{"raw JSON", json.RawMessage(`{"k": [1, 2.5e3]}`), `{"k":[1,2500]}`},
		{"memo's own value", record.Number(12), `12`},
	} {
		res, err := Run(context.Background(), func(context.Context, Op) (any, error) { return c.v, nil },
			Op{Name: c.name, Payload: json.RawMessage(`"x"`), Batch: "b"}, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != "ok" || string(res.Value) != c.want {
			t.Errorf("%s: %s %s (%s), want ok %s", c.name, res.Status, res.Value, res.Error, c.want)
		}
	}
}

func TestAValueDynamoDBCannotHoldIsAnErrorResultSayingWhy(t *testing.T) {
	deep := any("x")
	for range 32 {
		deep = []any{deep}
	}
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"too large", strings.Repeat("x", MaxValueBytes+1), "more than the 307200 a result may hold"},
		{"too large once nested", []string{strings.Repeat("x", MaxValueBytes/2), strings.Repeat("x", MaxValueBytes/2)}, "more than the 307200"},
		{"number out of range", 1e200, "exceeds DynamoDB's number range"},
		{"number too small", []float64{1e-200}, "smaller in magnitude than DynamoDB's smallest number"},
		{"not finite", math.Inf(1), "not a finite number"},
		{"integer beyond 2^53", int64(1<<53 + 1), "return it as a string"},
		{"uint64 beyond 2^53", uint64(1<<63 + 1), "return it as a string"},
		{"too deep", deep, "deeper than DynamoDB's 32 levels"},
		{"not JSON", make(chan int), "unsupported type"},
	} {
		res, err := Run(context.Background(), func(context.Context, Op) (any, error) { return c.v, nil },
			Op{Name: c.name, Payload: json.RawMessage(`"x"`), Batch: "b"}, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != "error" || !strings.Contains(res.Error, c.want) || !strings.Contains(res.Error, "the result cannot be stored") {
			t.Errorf("%s: %s %q, want an error result saying %q", c.name, res.Status, res.Error, c.want)
		}
	}
}

func TestRunReportsWhatMemoWouldDo(t *testing.T) {
	op := func(s string) Op { return Op{Name: s, Payload: json.RawMessage(`"` + s + `"`), Batch: "b"} }
	for _, c := range []struct {
		op   string
		want Result
	}{
		{"transient", Result{Status: "retry", Error: errThrottled.Error()}},
		{"permanent", Result{Status: "error", Error: `object "permanent" is missing`}},
		{"panic", Result{Status: "error", Error: "internal error computing op: assignment to entry in nil map"}},
	} {
		got, err := Run(context.Background(), byOp, op(c.op), Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.op, d)
		}
	}
	if _, err := Run(context.Background(), byOp, op("x"), Options{Concurrency: -1}, nil); err == nil {
		t.Error("a negative concurrency was accepted")
	}
}

// The manual states the limits as figures; they are compute's.
func TestDocumentedLimitsAreComputes(t *testing.T) {
	if MaxValueBytes != compute.MaxValueBytes || DefaultConcurrency != compute.DefaultOps || DefaultOpTimeout != compute.DefaultOpTimeout {
		t.Errorf("fn's limits (%d, %d, %v) differ from compute's (%d, %d, %v)", MaxValueBytes, DefaultConcurrency, DefaultOpTimeout,
			compute.MaxValueBytes, compute.DefaultOps, compute.DefaultOpTimeout)
	}
}

// A function (or a helper it calls) can ask whether an error it got was
// marked permanent, through any number of wraps.
func TestIsPermanentSeesThroughWraps(t *testing.T) {
	base := errors.New("no such object")
	if IsPermanent(base) {
		t.Error("an unmarked error is permanent")
	}
	if !IsPermanent(Permanent(base)) {
		t.Error("Permanent(err) is not permanent")
	}
	if !IsPermanent(fmt.Errorf("checksum: %w", Permanent(base))) {
		t.Error("a wrapped Permanent(err) is not permanent")
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("Permanent(err) hides err from errors.Is")
	}
}
