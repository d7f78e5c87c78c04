package splitter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

const bucket = "memo-test-batches-123"

var noWait = retry.Policy{Attempts: 5, Base: time.Millisecond, Max: time.Millisecond,
	Sleep: func(context.Context, time.Duration) error { return nil }}

func s3Event(key, version string) events.S3Event {
	var r events.S3EventRecord
	r.EventName = "ObjectCreated:Put"
	r.S3.Bucket.Name = bucket
	r.S3.Object.Key = key
	r.S3.Object.VersionID = version
	return events.S3Event{Records: []events.S3EventRecord{r}}
}

func setup(t *testing.T) (*inmem.Objects, *inmem.Queue, *splitter.Service) {
	t.Helper()
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	return objs, q, splitter.New(objs, q, splitter.Config{Retry: noWait})
}

func report(t *testing.T, objs *inmem.Objects, key string) record.Report {
	t.Helper()
	b, ok := objs.Object(bucket, key)
	if !ok {
		t.Fatalf("no report at %s", key)
	}
	rep, err := record.DecodeReport(b)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSplitSeedBatch(t *testing.T) {
	objs, q, svc := setup(t)
	objs.Set(bucket, "batches/work.json", []byte(`{"ops": [{"name": "1_plus_1", "op": "1+1"}, {"name": "2_by_2", "op": "2*2"}]}`))
	ev := s3Event("batches/work.json", "v1")
	ev.Records[0].EventTime = time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	ev.Records[0].S3.Object.Sequencer = "0055aed6dcd90281e5"
	if err := svc.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got := q.Messages()
	// The stamp: the event time in milliseconds (finer digits dropped), the
	// sequencer (its length without leading zeros, then its digits), and
	// the batch id.
	stamp := "1767323045678-1655AED6DCD90281E5-batches/work.json@v1"
	want := []record.Message{
		{Name: "1_plus_1", Op: "1+1", Batch: "batches/work.json@v1", Index: 0, Stamp: stamp},
		{Name: "2_by_2", Op: "2*2", Batch: "batches/work.json@v1", Index: 1, Stamp: stamp},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages = %v, want %v", got, want)
	}
	rep := report(t, objs, "reports/work.json.json")
	if rep.Status != record.ReportSplit || rep.Totals != (record.Totals{Ops: 2, Enqueued: 2}) || rep.Batch != "batches/work.json@v1" || rep.Stamp != stamp {
		t.Fatalf("report = %+v", rep)
	}
	if rep.StartedAt.IsZero() || rep.FinishedAt.Before(rep.StartedAt) {
		t.Fatalf("report times %v .. %v", rep.StartedAt, rep.FinishedAt)
	}
}

func TestKeysAreURLDecodedAndFiltered(t *testing.T) {
	objs, q, svc := setup(t)
	objs.Set(bucket, "batches/my work é.jsonl", []byte(`{"name":"a","op":"1"}`+"\n"))
	for _, key := range []string{
		"batches/my+work+%C3%A9.jsonl", // S3's encoding of the key above
		"reports/my+work.jsonl",        // outside batches/: the splitter's own output
		"batches/notes.txt",            // wrong suffix
		"other/x.json",
	} {
		if err := svc.Handle(context.Background(), s3Event(key, "")); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	if n := len(q.Messages()); n != 1 {
		t.Fatalf("%d messages, want 1 (only the batches/ key)", n)
	}
	if objs.Opens.Load() != 2 {
		t.Fatalf("%d opens, want 2 (check + split of the one batch)", objs.Opens.Load())
	}
	report(t, objs, "reports/my work é.jsonl.json")
}

func TestRejectionsAndDuplicates(t *testing.T) {
	objs, q, svc := setup(t)
	objs.Set(bucket, "batches/mixed.json", []byte(`{"ops": [
		{"name": "a", "op": "1+1"},
		{"name": "", "op": "1"},
		{"name": "a", "op": "2+2"},
		{"name": "b", "op": "1\\"},
		{"name": "c", "op": "1/0"}]}`))
	if err := svc.Handle(context.Background(), s3Event("batches/mixed.json", "v")); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range q.Messages() {
		names = append(names, fmt.Sprintf("%s#%d", m.Name, m.Index))
	}
	if strings.Join(names, ",") != "a#0,c#4" {
		t.Fatalf("enqueued %v, want a#0,c#4", names)
	}
	rep := report(t, objs, "reports/mixed.json.json")
	if rep.Totals != (record.Totals{Ops: 5, Enqueued: 2, Rejected: 3}) {
		t.Fatalf("totals %+v", rep.Totals)
	}
	idx := []int{}
	for _, r := range rep.Rejections {
		idx = append(idx, r.Index)
		if r.Reason == "" {
			t.Errorf("rejection %d without a reason", r.Index)
		}
	}
	if fmt.Sprint(idx) != "[1 2 3]" {
		t.Fatalf("rejected indexes %v", idx)
	}
	if !strings.Contains(rep.Rejections[1].Reason, "duplicate") {
		t.Errorf("duplicate reason = %q", rep.Rejections[1].Reason)
	}
}

// lateFault is a batch with n valid ops (several full chunks of
// MaxSendBatch) before a structural fault, in either format.
func lateFault(n int, jsonl bool) string {
	var ops []string
	for i := range n {
		ops = append(ops, fmt.Sprintf(`{"name": "n%d", "op": "%d"}`, i, i))
	}
	if jsonl {
		return strings.Join(ops, "\n") + "\n" + `{"name": "late", "op": "1"} x` + "\n" + `{"name": "after", "op": "1"}` + "\n"
	}
	return `{"ops": [` + strings.Join(ops, ",\n") + `,` + "\n" + `{"name": "late", "op": "1"} {"name": "after", "op": "1"}]}`
}

func TestStructurallyBrokenFileEnqueuesNothing(t *testing.T) {
	for name, c := range map[string]struct{ key, body string }{
		"truncated":       {"b.json", `{"ops": [{"name": "a", "op": "1"}, {"name": "b", "op": "2"`},
		"trailing":        {"b.json", `{"ops": [{"name": "a", "op": "1"}]} x`},
		"not json":        {"b.json", `hello`},
		"ops not array":   {"b.json", `{"ops": {}}`},
		"top-level array": {"b.json", `[{"name": "a", "op": "1"}]`},
		// The fault comes after several full chunks: a splitter that sends
		// while it is still checking would have enqueued them.
		"late fault json":  {"b.json", lateFault(4*splitter.MaxSendBatch+3, false)},
		"late fault jsonl": {"b.jsonl", lateFault(4*splitter.MaxSendBatch+3, true)},
	} {
		t.Run(name, func(t *testing.T) {
			objs, q, svc := setup(t)
			objs.Set(bucket, "batches/"+c.key, []byte(c.body))
			if err := svc.Handle(context.Background(), s3Event("batches/"+c.key, "v")); err != nil {
				t.Fatalf("a broken file is not worth retrying, got %v", err)
			}
			if n, calls := len(q.Messages()), q.Calls.Load(); n != 0 || calls != 0 {
				t.Fatalf("%d messages enqueued (%d send calls) from a broken file", n, calls)
			}
			rep := report(t, objs, "reports/"+c.key+".json")
			if rep.Status != record.ReportRejected || rep.Offset == nil || rep.Error == "" {
				t.Fatalf("report = %+v", rep)
			}
		})
	}
}

func TestFailedEntriesAreRetried(t *testing.T) {
	objs, q, svc := setup(t)
	var ops []string
	for i := range 95 {
		ops = append(ops, fmt.Sprintf(`{"name":"n%d","op":"%d"}`, i, i))
	}
	objs.Set(bucket, "batches/r.jsonl", []byte(strings.Join(ops, "\n")))
	// Per message: the first call that carries it fails as a whole when
	// its index is a multiple of 3; the last entry of a call fails twice.
	var mu sync.Mutex
	tries := map[string]int{}
	q.Fail = func(msgs []record.Message) ([]splitter.SendFailure, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			tries[m.Name]++
		}
		if first := msgs[0]; tries[first.Name] == 1 && first.Index%3 == 0 {
			return nil, errors.New("ThrottlingException")
		}
		if last := msgs[len(msgs)-1]; tries[last.Name] <= 3 {
			return []splitter.SendFailure{{Index: len(msgs) - 1, Reason: "InternalError"}}, nil
		}
		return nil, nil
	}
	if err := svc.Handle(context.Background(), s3Event("batches/r.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range q.Messages() {
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

// A 100k-op batch streamed from a generator: the splitter's heap must not
// grow with the number of ops beyond the duplicate-name fingerprints
// (16 bytes an op).
func TestHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test")
	}
	growth := map[int]uint64{}
	for _, n := range []int{10_000, 100_000} {
		objs := inmem.NewObjects()
		objs.Opener = func(splitter.Ref) (io.ReadCloser, error) { return io.NopCloser(newGen(n)), nil }
		q := &countingQueue{}
		svc := splitter.New(objs, q, splitter.Config{Retry: noWait})
		growth[n] = peakHeapGrowth(func() {
			rep, err := svc.Split(context.Background(), splitter.Ref{Bucket: bucket, Key: "batches/big.jsonl", Version: "v"})
			if err != nil || rep.Totals.Enqueued != n {
				t.Fatalf("split: %v, %+v", err, rep.Totals)
			}
		})
		if int(q.sent.Load()) != n {
			t.Fatalf("sent %d of %d", q.sent.Load(), n)
		}
		t.Logf("%d ops: peak heap growth %.2f MB", n, float64(growth[n])/(1<<20))
	}
	// 10x the ops may add the fingerprints (~1.5 MB for 90k more) and
	// noise, nothing proportional to the op bodies (~3.5 MB here).
	const bound = 8 << 20
	if growth[100_000] > bound {
		t.Fatalf("peak heap growth %d MB at 100k ops, want < %d MB", growth[100_000]>>20, bound>>20)
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
	if rep.Status != record.ReportSplit || rep.Totals != (record.Totals{Ops: 50, Enqueued: 50}) || opens != 4 {
		t.Fatalf("report %+v after %d opens", rep, opens)
	}
	seen := map[string]bool{}
	for _, m := range q.Messages() {
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

// TestOnlyObjectCreatedEventsSplit: an event for a removed object (or any
// event other than ObjectCreated:*) is ignored; a record without an event
// name (a direct invocation) is taken as a created object.
func TestOnlyObjectCreatedEventsSplit(t *testing.T) {
	for _, c := range []struct {
		event string
		split bool
	}{
		{"ObjectCreated:Put", true}, {"ObjectCreated:CompleteMultipartUpload", true}, {"", true},
		{"ObjectRemoved:Delete", false}, {"ObjectRestore:Completed", false},
	} {
		objs, q, svc := setup(t)
		objs.Set(bucket, "batches/e.json", []byte(`{"ops": [{"name": "a", "op": "1"}]}`))
		ev := s3Event("batches/e.json", "v")
		ev.Records[0].EventName = c.event
		if err := svc.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		_, reported := objs.Object(bucket, "reports/e.json.json")
		if n := len(q.Messages()); reported != c.split || (n == 1) != c.split {
			t.Errorf("event %q: report written %v, %d messages; want split=%v", c.event, reported, n, c.split)
		}
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

type splitMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (m *splitMetrics) Split(c splitter.Counts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("enqueued=%d rejected=%d calls=%d retries=%d", c.Enqueued, c.Rejected, c.SendCalls, c.Retries))
}

// TestSplitSendsFullChunksAndReportsMetrics: 25 ops go out in 3 calls
// (10, 10, 5); the metrics say so once the report is written; a report
// that cannot be written fails the invocation (and records no metrics).
func TestSplitSendsFullChunksAndReportsMetrics(t *testing.T) {
	body := lateFault(25, true)
	body = body[:strings.Index(body, `{"name": "late"`)]
	for _, reportFails := range []bool{false, true} {
		objs, q := inmem.NewObjects(), &inmem.Queue{}
		objs.Set(bucket, "batches/c.jsonl", []byte(body))
		if reportFails {
			objs.FailPut = func(string, string) error { return errors.New("AccessDenied") }
		}
		m := &splitMetrics{}
		svc := splitter.New(objs, q, splitter.Config{Retry: noWait, Metrics: m})
		err := svc.Handle(context.Background(), s3Event("batches/c.jsonl", "v"))
		if reportFails {
			if err == nil || len(m.calls) != 0 {
				t.Fatalf("report write failed: Handle = %v, metrics %v; want an error and no metrics", err, m.calls)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if c := q.Calls.Load(); c != 3 || len(q.Messages()) != 25 {
			t.Fatalf("%d send calls for %d messages, want 3 for 25", c, len(q.Messages()))
		}
		if want := "enqueued=25 rejected=0 calls=3 retries=0"; len(m.calls) != 1 || m.calls[0] != want {
			t.Fatalf("metrics %v, want [%s]", m.calls, want)
		}
	}
}

// TestSplitMetricsCountRetries: a send call that fails once is retried;
// the metrics count both calls and the retry.
func TestSplitMetricsCountRetries(t *testing.T) {
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	objs.Set(bucket, "batches/r.json", []byte(`{"ops": [{"name": "a", "op": "1"}, {"name": "b", "op": "2"}]}`))
	failed := false
	q.Fail = func([]record.Message) ([]splitter.SendFailure, error) {
		if !failed {
			failed = true
			return nil, errors.New("ThrottlingException")
		}
		return nil, nil
	}
	m := &splitMetrics{}
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, Metrics: m})
	if err := svc.Handle(context.Background(), s3Event("batches/r.json", "v")); err != nil {
		t.Fatal(err)
	}
	if want := "enqueued=2 rejected=0 calls=2 retries=1"; len(m.calls) != 1 || m.calls[0] != want {
		t.Fatalf("metrics %v, want [%s]", m.calls, want)
	}
}
