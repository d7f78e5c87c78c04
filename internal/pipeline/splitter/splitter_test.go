package splitter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

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

// outcome is what a test checks of a report beside its details: the
// status, the totals and the chunks.
type outcome struct {
	Status record.ReportStatus
	Totals record.Totals
	Chunks int
}

func outcomeOf(r record.Report) outcome {
	return outcome{Status: r.Status, Totals: r.Totals, Chunks: r.Chunks}
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
	want := []record.Message{{Batch: "batches/work.json@v1", Stamp: stamp, Ops: []record.MessageOp{
		{Name: "1_plus_1", Op: "1+1", Index: 0},
		{Name: "2_by_2", Op: "2*2", Index: 1},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	rep := report(t, objs, "reports/work.json.json")
	if diff := cmp.Diff(outcome{Status: record.ReportSplit, Totals: record.Totals{Ops: 2, Enqueued: 2}, Chunks: 1}, outcomeOf(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if rep.Batch != "batches/work.json@v1" {
		t.Errorf("report of batch %q, want batches/work.json@v1", rep.Batch)
	}
	if rep.Stamp != stamp {
		t.Errorf("report stamp %q, want %q", rep.Stamp, stamp)
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
	if n := len(q.Ops()); n != 1 {
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
	for _, m := range q.Ops() {
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
	if diff := cmp.Diff([]int{1, 2, 3}, idx); diff != "" {
		t.Fatalf("rejected indexes (-want +got):\n%s", diff)
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
			if n, calls := len(q.Ops()), q.Calls.Load(); n != 0 || calls != 0 {
				t.Fatalf("%d messages enqueued (%d send calls) from a broken file", n, calls)
			}
			rep := report(t, objs, "reports/"+c.key+".json")
			if rep.Status != record.ReportRejected || rep.Offset == nil || rep.Error == "" {
				t.Fatalf("report = %+v", rep)
			}
		})
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
		if n := len(q.Ops()); reported != c.split || (n == 1) != c.split {
			t.Errorf("event %q: report written %v, %d messages; want split=%v", c.event, reported, n, c.split)
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

// TestSplitSendsFullChunksAndReportsMetrics: 25 ops go out as packs of 10,
// 10 and 5 ops in one call; the metrics say so once the report is written; a report
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
		var packs []int
		for _, msg := range q.Messages() {
			packs = append(packs, len(msg.Ops))
		}
		if c := q.Calls.Load(); c != 1 || !slices.Equal(packs, []int{10, 10, 5}) {
			t.Fatalf("%d send calls of packs %v, want 1 of [10 10 5]", c, packs)
		}
		if want := "enqueued=25 rejected=0 calls=1 retries=0"; len(m.calls) != 1 || m.calls[0] != want {
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
