package splitter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// The op rules are the pipeline's setting: under the json rules an op is
// any JSON value and reaches the queue as it was (a string as a string);
// under memo's expression rules the same file's other values are rejected,
// each alone with its reason.
func TestOpRulesDecideWhatIsEnqueued(t *testing.T) {
	file := `{"ops": [
		{"name": "img-0001", "op": {"key": "photos/0001.jpg"}},
		{"name": "img-0002", "op": "photos/0002.jpg"},
		{"name": "n", "op": 42},
		{"name": "deep", "op": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `},
		{"name": "img-0001", "op": {"key": "again"}}]}`
	for _, c := range []struct {
		rules    batch.Rules
		enqueued []record.MessageOp
		rejected map[int]string
	}{
		{batch.JSONRules, []record.MessageOp{
			{Name: "img-0001", Op: `{"key": "photos/0001.jpg"}`, Raw: true},
			{Name: "img-0002", Op: "photos/0002.jpg", Index: 1},
			{Name: "n", Op: "42", Raw: true, Index: 2},
		}, map[int]string{3: "op nests arrays and objects 65 deep (max 64)", 4: "duplicate of op 0"}},
		{batch.ExpressionRules, []record.MessageOp{
			{Name: "img-0002", Op: "photos/0002.jpg", Index: 1},
		}, map[int]string{
			0: `field "op" is an object, not a string`, 2: `field "op" is a number, not a string`,
			3: `field "op" is an array, not a string`, 4: `field "op" is an object, not a string`,
		}},
	} {
		t.Run(c.rules.String(), func(t *testing.T) {
			objs, q := inmem.NewObjects(), &inmem.Queue{}
			svc := splitter.New(objs, q, splitter.Config{Retry: noWait, OpRules: c.rules})
			objs.Set(bucket, "batches/any.json", []byte(file))
			if err := svc.Handle(context.Background(), s3Event("batches/any.json", "v")); err != nil {
				t.Fatal(err)
			}
			var got []record.MessageOp
			for _, op := range q.Ops() {
				got = append(got, op.MessageOp)
			}
			if d := cmp.Diff(c.enqueued, got); d != "" {
				t.Errorf("enqueued (-want +got):\n%s", d)
			}
			rep := report(t, objs, "reports/any.json.json")
			if want := map[batch.Rules]string{batch.JSONRules: "json"}[c.rules]; rep.OpRules != want {
				t.Errorf("the report names op rules %q, want %q (reconciliation reads the file with them)", rep.OpRules, want)
			}
			rejected := map[int]string{}
			for _, r := range rep.Rejections {
				rejected[r.Index] = r.Reason
			}
			if d := cmp.Diff(c.rejected, rejected); d != "" {
				t.Errorf("rejected (-want +got):\n%s", d)
			}
		})
	}
}

// The longest ops the json rules accept, made of what SQS makes the
// splitter escape (U+FFFF: 3 bytes in the file, 6 on the queue), with the
// longest names fully escaped, still fit a pack each: no message over
// MaxPackBytes, no call over MaxCallBytes, every op sent.
func TestLongestJSONOpsFitAPack(t *testing.T) {
	var b strings.Builder
	const n = 25
	for i := range n {
		name := fmt.Sprintf("%03d", i) + strings.Repeat(`\"`, batch.MaxNameBytes-3)
		fill := strings.Repeat("\uFFFF", (batch.MaxJSONOpBytes-len(`["",""]`)-3)/3)
		op := fmt.Sprintf(`["%s","%03d"]`, fill, i)
		if len(op) > batch.MaxJSONOpBytes || len(op) < batch.MaxJSONOpBytes-3 {
			t.Fatalf("op of %d bytes", len(op))
		}
		fmt.Fprintf(&b, "{\"name\":\"%s\",\"op\":%s}\n", name, op)
	}
	objs, q := inmem.NewObjects(), &callLog{}
	objs.Set(bucket, "batches/long.jsonl", []byte(b.String()))
	svc := splitter.New(objs, q, splitter.Config{Retry: noWait, OpRules: batch.JSONRules, PackOps: splitter.MaxPackOps, Concurrency: 1})
	if err := svc.Handle(context.Background(), s3Event("batches/long.jsonl", "v")); err != nil {
		t.Fatal(err)
	}
	if got := len(q.Ops()); got != n {
		t.Fatalf("%d ops sent, want %d (report %+v)", got, n, report(t, objs, "reports/long.jsonl.json").Rejections)
	}
	for _, call := range q.calls {
		total := 0
		for _, m := range call {
			body, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > splitter.MaxPackBytes {
				t.Fatalf("a message of %d bytes, more than %d", len(body), splitter.MaxPackBytes)
			}
			total += len(body)
		}
		if total > splitter.MaxCallBytes {
			t.Fatalf("a call of %d bytes", total)
		}
	}
}
