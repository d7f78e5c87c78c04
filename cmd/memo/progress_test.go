package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

// The progress line shows the batch's total before the splitter's report
// exists: memo counts the file with the splitter's scanner (every op,
// rejected ones and duplicates included), and the report's total then
// takes over.
func TestProgressShowsTheTotalBeforeTheReport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.jsonl")
	body := `{"name": "a", "op": "1+1"}
{"name": "b", "op": "1+"}
{"name": "a", "op": "2"}
{"name": "c", "op": "3"}
`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	n := countOps(file, "batches/b.jsonl")
	if n != 4 {
		t.Fatalf("countOps = %d, want 4 (one invalid and one duplicate included)", n)
	}
	var out bytes.Buffer
	p := newProgress(&out, false, n)
	p.update(status.Reconciliation{Queued: 3})
	if got := out.String(); !strings.HasPrefix(got, "progress: 0/4 ops") {
		t.Errorf("before the report: %q, want the counted total", got)
	}

	out.Reset()
	p = newProgress(&out, false, -1)
	p.update(status.Reconciliation{Queued: 3})
	if got := out.String(); !strings.HasPrefix(got, "progress: 0/? ops") {
		t.Errorf("uncounted, before the report: %q, want ?", got)
	}

	out.Reset()
	p = newProgress(&out, false, n)
	rep := &record.Report{Status: record.ReportSplit, Totals: record.Totals{Ops: 5}}
	p.update(status.Reconciliation{Report: rep, Total: 5, OK: 2, Queued: 0})
	if got := out.String(); !strings.HasPrefix(got, "progress: 5/5 ops") {
		t.Errorf("with the report: %q, want the report's total", got)
	}
}

func TestCountOpsOfABrokenFileIsUnknown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.json")
	if err := os.WriteFile(file, []byte(`[{"name": "a", "op": "1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := countOps(file, "batches/b.json"); n != -1 {
		t.Errorf("countOps of a truncated file = %d, want -1", n)
	}
}
