package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/aws/emf"
	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/record"
)

// emfLine returns the one EMF record in out, decoded.
func emfLine(t *testing.T, out *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one EMF line, got %d: %q", len(lines), out.String())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	return doc
}

// checkDimensions: the record's metrics are published with the dimension
// set {workspace, function}, and carry this function's name, so that
// CloudWatch keeps the splitter's Calls and Retries apart from compute's.
func checkDimensions(t *testing.T, doc map[string]any, function string) {
	t.Helper()
	if doc[emf.DimFunction] != function || doc[emf.DimWorkspace] != "dev" {
		t.Errorf("dimension values: function=%v workspace=%v, want %s and dev", doc[emf.DimFunction], doc[emf.DimWorkspace], function)
	}
	cwm := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
	if len(cwm) != 1 {
		t.Fatalf("want one metric directive, got %v", cwm)
	}
	dims, _ := json.Marshal(cwm[0].(map[string]any)["Dimensions"])
	if string(dims) != `[["workspace","function"]]` {
		t.Errorf("dimensions %s, want [[\"workspace\",\"function\"]]", dims)
	}
	for _, m := range []string{emf.Calls, emf.Retries} {
		if _, ok := doc[m]; !ok {
			t.Errorf("%s missing from %s's record", m, function)
		}
	}
}

func TestEachFunctionPublishesItsOwnDimension(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))

	var out bytes.Buffer
	objs := inmem.NewObjects()
	objs.Set("b", "batches/w.json", []byte(`{"ops":[{"name":"x","op":"1+1"}]}`))
	sp := newSplitter(objs, &inmem.Queue{}, nil, SplitterEnv{Workspace: "dev", Concurrency: 1}, logger, &out)
	ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: "b"}, Object: events.S3Object{Key: "batches/w.json", ETag: "e1"}}}}}
	if err := sp.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, emfLine(t, &out), emf.FunctionSplitter)

	out.Reset()
	body, _ := record.Message{Batch: "batches/w.json@e1", Stamp: "s", Ops: []record.MessageOp{{Name: "x", Op: "1+1"}}}.Encode()
	cp := NewComputeOn(inmem.NewTable(), ComputeEnv{Workspace: "dev", Table: "t"}, logger, &out, compute.Expressions(eval.Evaluate), compute.Config{})
	if _, err := cp.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}}}); err != nil {
		t.Fatal(err)
	}
	doc := emfLine(t, &out)
	checkDimensions(t, doc, emf.FunctionCompute)
	if doc[emf.Superseded] != 0.0 || doc[emf.OpsOK] != 1.0 {
		t.Errorf("compute's counts: %v", doc)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
