package splitter_test

// What a split does when things fail: failed and refused sends, deadlines,
// reads that fail or stop part way, and the bounds on their retries.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

func TestFailedEntriesAreRetried(t *testing.T) {
	objs, q, svc := setup(t)
	var ops []string
	for i := range 95 {
		ops = append(ops, fmt.Sprintf(`{"name":"n%d","op":"%d"}`, i, i))
	}
	objs.Set(bucket, "batches/r.jsonl", []byte(strings.Join(ops, "\n")))
	// Per message (a pack, named by its first op): the first call that
	// carries it fails as a whole when its first index is a multiple of
	// 3; the last entry of a call fails twice.
	var mu sync.Mutex
	tries := map[string]int{}
	q.Fail = func(msgs []record.Message) ([]splitter.SendFailure, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			tries[m.Ops[0].Name]++
		}
		if first := msgs[0].Ops[0]; tries[first.Name] == 1 && first.Index%3 == 0 {
			return nil, errors.New("ThrottlingException")
		}
		if last := msgs[len(msgs)-1].Ops[0]; tries[last.Name] <= 3 {
			return []splitter.SendFailure{{Index: len(msgs) - 1, Reason: "InternalError"}}, nil
		}
		return nil, nil
	}
	if err := svc.Handle(context.Background(), s3Event("batches/r.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range q.Ops() {
		seen[m.Name]++
	}
	for i := range 95 {
		if seen[fmt.Sprintf("n%d", i)] != 1 {
			t.Fatalf("op n%d sent %d times", i, seen[fmt.Sprintf("n%d", i)])
		}
	}
	if rep := report(t, objs, "reports/r.jsonl.json"); rep.Totals.Enqueued != 95 || rep.Status != record.ReportSplit {
		t.Fatalf("report %+v", rep)
	}
}

func TestPermanentFailureFailsTheInvocation(t *testing.T) {
	objs, q, svc := setup(t)
	objs.Set(bucket, "batches/p.json", []byte(`{"ops":[{"name":"a","op":"1"}]}`))
	q.Fail = func([]record.Message) ([]splitter.SendFailure, error) {
		return nil, retry.Permanent(errors.New("AccessDenied"))
	}
	err := svc.Handle(context.Background(), s3Event("batches/p.json", "v"))
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Handle = %v, want the AccessDenied error (so that Lambda retries the event)", err)
	}
	if rep := report(t, objs, "reports/p.json.json"); rep.Status != record.ReportFailed {
		t.Fatalf("report status %q, want failed", rep.Status)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	objs, q, svc := setup(t)
	objs.Set(bucket, "batches/t.json", []byte(`{"ops":[{"name":"a","op":"1"}]}`))
	q.Fail = func([]record.Message) ([]splitter.SendFailure, error) { return nil, errors.New("ServiceUnavailable") }
	if err := svc.Handle(context.Background(), s3Event("batches/t.json", "v")); err == nil {
		t.Fatal("Handle succeeded against a queue that always fails")
	}
	if n := q.Calls.Load(); n != int64(noWait.Attempts) {
		t.Fatalf("%d send calls, want %d (the retry policy's attempts)", n, noWait.Attempts)
	}
}

// blockingQueue never answers before its context ends.
type blockingQueue struct{}

func (blockingQueue) SendBatch(ctx context.Context, _ []record.Message) ([]splitter.SendFailure, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestDeadlineLeavesTimeForAFailedReport(t *testing.T) {
	objs := inmem.NewObjects()
	objs.Set(bucket, "batches/slow.json", []byte(`{"ops":[{"name":"a","op":"1"}]}`))
	svc := splitter.New(objs, blockingQueue{}, splitter.Config{Retry: noWait, Margin: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := svc.Handle(ctx, s3Event("batches/slow.json", "v")); err == nil {
		t.Fatal("Handle succeeded although nothing could be sent")
	}
	if ctx.Err() != nil {
		t.Fatal("Handle returned after the invocation's deadline")
	}
	if rep := report(t, objs, "reports/slow.json.json"); rep.Status != record.ReportFailed || rep.Totals.Enqueued != 0 {
		t.Fatalf("report %+v, want failed with nothing enqueued", rep)
	}
}

// flakyReader fails after n bytes.
type flakyReader struct {
	r io.Reader
	n int
}

func (f *flakyReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestReadFailuresAreRetriedWithinTheInvocation(t *testing.T) {
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`{"name":"n%d","op":"%d"}`, i, i))
	}
	body := strings.Join(lines, "\n")
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	opens := 0
	// The first read of each pass breaks part way.
	objs.Opener = func(splitter.Ref) (io.ReadCloser, error) {
		opens++
		if opens == 1 || opens == 3 {
			return io.NopCloser(&flakyReader{r: strings.NewReader(body), n: len(body) / 2}), nil
		}
		return io.NopCloser(strings.NewReader(body)), nil
	}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, Concurrency: 1})
	if err := svc.Handle(context.Background(), s3Event("batches/f.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	rep := report(t, objs, "reports/f.jsonl.json")
	if diff := cmp.Diff(outcome{Status: record.ReportSplit, Totals: record.Totals{Ops: 50, Enqueued: 50}, Chunks: 1}, outcomeOf(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if opens != 4 {
		t.Errorf("%d opens, want 4", opens)
	}
	seen := map[string]bool{}
	for _, m := range q.Ops() {
		seen[m.Name] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct ops enqueued, want 50", len(seen))
	}
}

func TestUnreadableBatchStillGetsAReport(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	objs.Opener = func(splitter.Ref) (io.ReadCloser, error) { return nil, errors.New("InternalError") }
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait})
	if err := svc.Handle(context.Background(), s3Event("batches/u.json", "v")); err == nil {
		t.Fatal("an unreadable batch must fail the invocation, for S3's retries")
	}
	if rep := report(t, objs, "reports/u.json.json"); rep.Status != record.ReportFailed || !strings.Contains(rep.Error, "InternalError") {
		t.Fatalf("report %+v", rep)
	}
	if n := objs.Opens.Load(); n != 3 {
		t.Fatalf("%d opens, want 3 (the read was retried)", n)
	}
}

// deadlineQueue records the deadline of the context each send gets.
type deadlineQueue struct {
	inmem.Queue
	mu        sync.Mutex
	deadlines []time.Time
}

func (q *deadlineQueue) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	dl, _ := ctx.Deadline()
	q.mu.Lock()
	q.deadlines = append(q.deadlines, dl)
	q.mu.Unlock()
	return q.Queue.SendBatch(ctx, msgs)
}

// TestDefaultMarginIsTwoSeconds: without a Margin, the splitter's work
// runs against the invocation's deadline less 2s, the time kept to write
// the report before Lambda stops the function.
func TestDefaultMarginIsTwoSeconds(t *testing.T) {
	objs := inmem.NewObjects()
	objs.Set(bucket, "batches/m.jsonl", []byte(`{"name": "a", "op": "1"}`+"\n"))
	q := &deadlineQueue{}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	outer, _ := ctx.Deadline()
	if err := svc.Handle(ctx, s3Event("batches/m.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	if len(q.deadlines) != 1 || !q.deadlines[0].Equal(outer.Add(-2*time.Second)) {
		t.Fatalf("sends ran with deadlines %v, want the invocation's (%v) less 2s", q.deadlines, outer)
	}
}

// TestPartWayReadFailuresAreBounded: when every read of a chunk (after
// the plan pass) breaks part way, the splitter makes readAttempts (3)
// passes, no more, then reports the batch failed; a report it cannot write
// is part of the error.
func TestPartWayReadFailuresAreBounded(t *testing.T) {
	body := lateFault(25, true)
	body = body[:strings.Index(body, `{"name": "late"`)] // 25 valid lines
	for _, reportFails := range []bool{false, true} {
		objs, q := inmem.NewObjects(), &inmem.Queue{}
		objs.Opener = func(splitter.Ref) (io.ReadCloser, error) {
			if objs.Opens.Load() == 1 { // the check pass reads it whole
				return io.NopCloser(strings.NewReader(body)), nil
			}
			return io.NopCloser(&flakyReader{r: strings.NewReader(body), n: len(body) / 2}), nil
		}
		if reportFails {
			objs.FailPut = func(_, key string) error {
				if key != "reports/p.jsonl.json" {
					return nil // the plan and the markers are written
				}
				return errors.New("SlowDown: report " + key)
			}
		}
		svc := splitter.New(objs, q, splitter.Config{Retry: noWait, Concurrency: 1})
		err := svc.Handle(context.Background(), s3Event("batches/p.jsonl", "v"))
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("report fails %v: Handle = %v, want the read error", reportFails, err)
		}
		if n := objs.Opens.Load(); n != 1+3 {
			t.Fatalf("report fails %v: %d opens, want 1 check + 3 passes", reportFails, n)
		}
		if reportFails {
			if !strings.Contains(err.Error(), "SlowDown") {
				t.Fatalf("Handle = %v, want the report's write error too", err)
			}
			continue
		}
		if rep := report(t, objs, "reports/p.jsonl.json"); rep.Status != record.ReportFailed {
			t.Fatalf("report %+v, want failed", rep)
		}
	}
}
