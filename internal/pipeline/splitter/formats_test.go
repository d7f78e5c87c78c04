package splitter_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// mixedOps are n ops with what formats must carry alike: a quoted newline
// on each side of every boundary of chunks of 7, commas and quotes in
// names, a duplicate and an invalid op.
func mixedOps(n int) []batch.Op {
	ops := make([]batch.Op, n)
	for i := range ops {
		ops[i] = batch.Op{Name: fmt.Sprintf("op_%d, \"x\"", i), Op: fmt.Sprintf("%d*2+1", i)}
		if i%7 == 6 || i%7 == 0 {
			ops[i].Op = fmt.Sprintf("(%d*2\n+1)", i)
		}
	}
	if n > 200 {
		ops[100].Name = ops[99].Name
		ops[200].Op = "1 \\ 2"
	}
	return ops
}

func fileOf(t *testing.T, f batch.Format, ops []batch.Op) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := batch.Write(&b, f, ops); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var linePrefix = regexp.MustCompile(`^line \d+: `)

// formatOutcome is what a split did: the messages (in index order) and the
// report's totals and rejections (a CSV rejection's line left out).
type formatOutcome struct {
	Messages   []inmem.QueuedOp
	Totals     record.Totals
	Rejections []record.Rejection
}

func split(t *testing.T, f batch.Format, data []byte, chunkOps int) formatOutcome {
	t.Helper()
	objs, q := inmem.NewObjects(), &inmem.Queue{}
	key := "batches/same" + f.Suffix()
	objs.Set(bucket, key, data)
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: chunkOps, InlineChunks: 3})
	if err := svc.Handle(context.Background(), s3Event(key, "v1")); err != nil {
		t.Fatal(err)
	}
	rep := report(t, objs, naming.ReportKey(key))
	if rep.Status != record.ReportSplit {
		t.Fatalf("%s: report %+v", key, rep)
	}
	var o formatOutcome
	for _, m := range q.Ops() {
		m.Batch, m.Stamp = "", ""
		o.Messages = append(o.Messages, m)
	}
	slices.SortFunc(o.Messages, func(a, b inmem.QueuedOp) int { return a.Index - b.Index })
	o.Totals = rep.Totals
	for _, r := range rep.Rejections {
		r.Reason = linePrefix.ReplaceAllString(r.Reason, "")
		o.Rejections = append(o.Rejections, r)
	}
	return o
}

// The same 3,000 ops split alike in every format, in one chunk and in
// chunks of 7 ops (a quoted newline on both sides of each boundary).
func TestEveryFormatSplitsAlike(t *testing.T) {
	ops := mixedOps(3000)
	want := split(t, batch.JSON, fileOf(t, batch.JSON, ops), 3000)
	if want.Totals != (record.Totals{Ops: 3000, Enqueued: 2998, Rejected: 2}) {
		t.Fatalf("json: totals %+v", want.Totals)
	}
	for _, f := range batch.Formats() {
		data := fileOf(t, f, ops)
		for _, chunkOps := range []int{3000, 7} {
			got := split(t, f, data, chunkOps)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%v in chunks of %d, against json (-want +got):\n%s", f, chunkOps, diff)
			}
		}
	}
}

// A chunk task of a compressed batch reads the object whole (a gzip stream
// has no middle to start from); the others read their run's bytes only.
func TestCompressedChunksReadTheWholeObject(t *testing.T) {
	for _, f := range []batch.Format{batch.CSV, batch.CSVGzip} {
		objs := &rangeLog{Objects: inmem.NewObjects()}
		q := &inmem.Queue{}
		key := "batches/r" + f.Suffix()
		objs.Set(bucket, key, fileOf(t, f, mixedOps(30)))
		svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 10})
		if err := svc.Handle(context.Background(), s3Event(key, "v1")); err != nil {
			t.Fatal(err)
		}
		ranged := 0
		for _, ref := range objs.refs {
			if ref.Length > 0 {
				ranged++
			}
		}
		if want := map[bool]int{false: 3, true: 0}[f.Compressed()]; len(objs.refs) != 4 || ranged != want {
			t.Errorf("%v: %d reads, %d ranged; want 4 reads, %d ranged", f, len(objs.refs), ranged, want)
		}
		if n := len(q.Ops()); n != 30 {
			t.Errorf("%v: %d messages, want 30", f, n)
		}
	}
}

// A CSV broken after 47 valid records enqueues nothing, stores no plan,
// and its report names the line and the byte offset of the break.
func TestCSVBrokenAfter47RecordsEnqueuesNothing(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,op\r\n")
	for i := range 47 {
		fmt.Fprintf(&b, "op_%d,%d+1\r\n", i, i)
	}
	b.WriteString("op_47,\"1+1\r\nop_48,2\r\n")
	for _, f := range []batch.Format{batch.CSV, batch.CSVGzip} {
		data := []byte(b.String())
		if f.Compressed() {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(data)
			w.Close()
			data = z.Bytes()
		}
		objs, q := inmem.NewObjects(), &inmem.Queue{}
		key := "batches/late" + f.Suffix()
		objs.Set(bucket, key, data)
		svc := splitter.New(objs, q, splitter.Config{Retry: noWait, ChunkOps: 7})
		if err := svc.Handle(context.Background(), s3Event(key, "v")); err != nil {
			t.Fatal(err)
		}
		if n := len(q.Ops()); n != 0 {
			t.Fatalf("%v: %d messages sent for a broken file", f, n)
		}
		rep := report(t, objs, naming.ReportKey(key))
		if rep.Status != record.ReportRejected || rep.Offset == nil || *rep.Offset != int64(b.Len()) ||
			rep.Error != fmt.Sprintf("byte %d: line 50: a quoted field is never closed: the file ends inside the record that starts on line 49", b.Len()) {
			t.Fatalf("%v: report %+v", f, rep)
		}
		if _, ok := objs.Object(bucket, naming.PlanKey(key+"@v")); ok {
			t.Fatalf("%v: a plan was stored for a broken file", f)
		}
	}
}
