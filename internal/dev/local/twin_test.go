package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// TestTwin2000Ops runs a 2,000-op .jsonl batch through the twin (moto, the
// production handlers in process) and checks every answer and lost=0.
func TestTwin2000Ops(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	twin := localtest.StartTwin(t, local.Options{})
	const n = 2000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"name": "op_%04d", "op": "%d * 3 + 1"}`+"\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := twin.Client()
	start := time.Now()
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, naming.BatchPrefix+"big.jsonl", file)
	if err != nil {
		t.Fatal(err)
	}
	id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil {
		t.Fatalf("wait: %v (%s)", err, rec.Line())
	}
	el := time.Since(start)
	t.Logf("%s in %v (%.0f ops/s); invocations=%d messages=%d item failures=%d",
		rec.Line(), el.Round(time.Millisecond), n/el.Seconds(), twin.Stats.Invocations.Load(), twin.Stats.Messages.Load(), twin.Stats.ItemFailures.Load())
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("op_%04d", i)
	}
	got, err := c.Table.Get(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Settled() || rec.Lost != 0 || rec.OK != n || rec.Total != n {
		var missing []string
		for _, name := range names {
			if _, ok := got[name]; !ok {
				missing = append(missing, name)
			}
		}
		v, f, _ := c.QueueDepth(ctx, c.Res.QueueURL)
		t.Fatalf("not reconciled: %s; missing from the table: %v; ops queue visible=%d in flight=%d", rec.Line(), missing, v, f)
	}
	for i, name := range names {
		r := got[name]
		if r.Status != record.StatusOK || r.Value == nil || r.Value.Num != float64(i*3+1) || r.Batch != id {
			t.Fatalf("%s = %+v, want %d", name, r, i*3+1)
		}
	}
}
