package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

// memo dlq --queue and memo resume refuse bad command lines with exit 2
// before they connect anywhere; a good one gets as far as connecting (the
// endpoint refuses connections: exit 1, not a usage error).
func TestDLQQueueAndResumeCommandLines(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "list", "--queue", "bogus"}, `unknown queue "bogus": want ops, chunks or split-failures`},
		{[]string{"dlq", "redrive", "--queue", "split-failures"}, "resume them with memo resume"},
		{[]string{"resume"}, "want exactly one batch id (or --all)"},
		{[]string{"resume", "a@b", "c@d"}, "want exactly one batch id (or --all)"},
		{[]string{"resume", "--all", "a@b"}, "give a batch id or --all, not both"},
	} {
		_, stderr, code := runMemo(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("memo %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	for _, args := range [][]string{
		{"dlq", "list", "--queue", "chunks", "--endpoint", "http://127.0.0.1:1"},
		{"dlq", "redrive", "--queue", "chunks", "--endpoint", "http://127.0.0.1:1"},
		{"resume", "batches/a.json@x", "--endpoint", "http://127.0.0.1:1"},
		{"resume", "--all", "--endpoint", "http://127.0.0.1:1"},
	} {
		if _, stderr, code := runMemo(args...); code != exitFailure {
			t.Errorf("memo %v: exit %d, stderr %q; want 1 (cannot connect)", args, code, stderr)
		}
	}
}

var sent = time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

// Each queue's messages are listed with what they carry: chunk tasks with
// their chunk, ops and byte range, split-failure records with the batch,
// time, invoke count and error; undecodable bodies as such.
func TestPrintQueue(t *testing.T) {
	chunkTask := record.ChunkTask{Batch: "batches/big.json@e1", Bucket: "b", Plan: "plans/x", Chunk: 3}
	for _, c := range []struct {
		q    workspace.Queue
		msgs []workspace.DLQMessage
		want []string
	}{
		{workspace.QueueOps, []workspace.DLQMessage{
			{ID: "m1", ReceiveCount: 5, SentAt: sent, Decoded: &record.Message{Batch: "batches/a.json@e", Ops: []record.MessageOp{{Name: "x", Op: "1+1"}, {Name: "y", Op: "2"}}}},
			{ID: "m2", ReceiveCount: 5, SentAt: sent, Body: "garbage", DecodeError: "bad"},
		}, []string{
			"ID  RECEIVES  SENT                  BATCH             NAME  OP",
			"m1  5         2026-12-02T05:00:00Z  batches/a.json@e  x     1+1",
			"m1  5         2026-12-02T05:00:00Z  batches/a.json@e  y     2",
			"m2  5         2026-12-02T05:00:00Z  -                 -     undecodable: garbage",
			"3 ops in 2 messages",
		}},
		{workspace.QueueChunks, []workspace.DLQMessage{
			{ID: "c1", ReceiveCount: 5, SentAt: sent, Chunk: &workspace.ChunkTask{ChunkTask: chunkTask, Ops: 50000, Offset: 1000, Length: 500}},
			{ID: "c2", ReceiveCount: 5, SentAt: sent, Chunk: &workspace.ChunkTask{ChunkTask: chunkTask, PlanError: "NoSuchKey"}},
			{ID: "c3", ReceiveCount: 5, SentAt: sent, Body: "{}", DecodeError: "bad"},
		}, []string{
			"ID  RECEIVES  SENT                  BATCH                CHUNK  OPS    BYTES",
			"c1  5         2026-12-02T05:00:00Z  batches/big.json@e1  3      50000  1000-1499",
			"c2  5         2026-12-02T05:00:00Z  batches/big.json@e1  3      ?      plan unreadable: NoSuchKey",
			"c3  5         2026-12-02T05:00:00Z  -                    -      -      undecodable: {}",
			"3 messages",
		}},
		{workspace.QueueSplitFailures, []workspace.DLQMessage{
			{ID: "s1", ReceiveCount: 0, SentAt: sent, SplitFailure: &workspace.SplitFailure{Batches: []string{"batches/w.json@e2"},
				Timestamp: sent.Add(-time.Second), InvokeCount: 3, ErrorType: "*errors.joinError", ErrorMessage: "split s3://b/batches/w.json: InternalError"}},
		}, []string{
			"ID  RECEIVES  SENT                  BATCH              FAILED                INVOKES  ERROR",
			"s1  0         2026-12-02T05:00:00Z  batches/w.json@e2  2026-12-02T04:59:59Z  3        *errors.joinError: split s3://b/batches/w.json: InternalError",
			"1 messages",
		}},
	} {
		var b bytes.Buffer
		if err := printQueue(&b, c.q, c.msgs); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimRight(b.String(), "\n"); got != strings.Join(c.want, "\n") {
			t.Errorf("--queue %s:\n%s\nwant:\n%s", c.q, got, strings.Join(c.want, "\n"))
		}
	}
}

// memo status hints at memo resume for a failed batch (a splitting one
// needs a look at the chunk DLQ: the twin test covers it), and says
// nothing for a split one.
func TestResumeHint(t *testing.T) {
	for st, want := range map[record.ReportStatus]string{
		record.ReportFailed: "resume with: memo resume batches/a.json@e\n",
		record.ReportSplit:  "",
	} {
		var out, errOut bytes.Buffer
		env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		printResumeHint(t.Context(), env, nil, status.Reconciliation{Batch: "batches/a.json@e", Report: &record.Report{Status: st}})
		if out.String() != want || errOut.Len() != 0 {
			t.Errorf("status %s: %q (stderr %q), want %q", st, out.String(), errOut.String(), want)
		}
	}
}

func TestPrintResume(t *testing.T) {
	var out, errOut bytes.Buffer
	env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	c := &workspace.Client{Res: workspace.Resources{SplitterFunction: "memo-dev-splitter"}}
	printResume(env, c, workspace.ResumeResult{Invoked: [][]string{{"batches/a.json@e"}}, Chunks: workspace.RedriveResult{Moved: 2}, Undecodable: 1})
	want := "split of batches/a.json@e: invoked memo-dev-splitter again (asynchronously; Lambda accepted it)\n" +
		"chunk tasks moved back to the chunk queue: moved=2 duplicated=0\n" +
		"follow it with: memo status --watch BATCH_ID\n"
	if out.String() != want || !strings.Contains(errOut.String(), "1 records in the split-failures queue are undecodable") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
}
