package local_test

// The newest upload wins on the twin, through the memo command where a user
// would use it.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// The three steps: submit a (x = 1+1), then b (x = 2+2); a message
// of a for x reaches the DLQ and the operator redrives it. x stays 4, b
// reconciles with nothing lost, a with x superseded.
func TestRedriveOfAnOlderUploadLeavesTheResult(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	bin := buildMemo(t)
	twin := localtest.StartTwin(t, local.Options{Settings: local.Settings{BatchingWindow: 200 * time.Millisecond}})
	endpoint := twin.Endpoint()
	submit := func(name, body string) string {
		out, errOut, code := memoCLI(t, bin, "submit", "--wait", "--endpoint", endpoint, writeFile(t, name, body))
		if code != 0 {
			t.Fatalf("memo submit --wait %s: exit %d\n%s%s", name, code, out, errOut)
		}
		return strings.TrimPrefix(lines(out)[0], "batch ")
	}
	result := func() string {
		out, _, _ := memoCLI(t, bin, "results", "--endpoint", endpoint, "x")
		return strings.TrimSpace(out)
	}
	a := submit("a.json", `{"ops": [{"name": "x", "op": "1+1"}]}`)
	b := submit("b.json", `{"ops": [{"name": "x", "op": "2+2"}]}`)
	if r := result(); r != "x -> 4" {
		t.Fatalf("after a and b: %q", r)
	}
	// A message of a for x in the DLQ, as five throttled writes leave it.
	ctx := context.Background()
	c := twin.Client()
	rep, found, err := c.Report(ctx, a)
	if err != nil || !found || rep.Stamp == "" {
		t.Fatalf("a's report: %+v %v %v", rep, found, err)
	}
	stale, _ := record.Message{Batch: a, Stamp: rep.Stamp, Ops: []record.MessageOp{{Name: "x", Op: "1+1"}}}.Encode()
	sendRaw(t, ctx, c, c.Res.DLQURL, stale)

	out, errOut, code := memoCLI(t, bin, "dlq", "redrive", "--endpoint", endpoint)
	if code != 0 || !strings.Contains(out, "1 ops in the DLQ, 1 superseded") || !strings.Contains(out, "moved=1") {
		t.Fatalf("memo dlq redrive: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := c.Wait(ctx, a, workspace.WaitOptions{Idle: twin.Idle}); err != nil {
		t.Fatal(err)
	}
	if r := result(); r != "x -> 4" {
		t.Fatalf("after the redrive: %q, want x -> 4 (a's stale answer replaced b's)", r)
	}
	// The table as it is now: by names (--exact). The counters say what
	// compute did (a's x was stored, then replaced), docs/design.md.
	out, _, code = memoCLI(t, bin, "status", "--exact", "--endpoint", endpoint, b)
	if code != 0 || !strings.Contains(out, "total=1 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=0 (reconciled by names: asked (--exact)) (settled)") {
		t.Errorf("memo status b: exit %d\n%s", code, out)
	}
	out, _, code = memoCLI(t, bin, "status", "--exact", "--endpoint", endpoint, a)
	if code != 0 || !strings.Contains(out, "total=1 ok=0 error=0 rejected=0 superseded=1 dlq=0 lost=0 (reconciled by names: asked (--exact)) (settled)") {
		t.Errorf("memo status a: exit %d\n%s", code, out)
	}

	// Lost for real: x's item is deleted behind memo's back. Nothing can
	// still arrive, so memo status --exact says settled, lost=1, and exits
	// 3; a's op is no longer superseded (no newer result holds x), it is
	// lost too. (The counters cannot see a deletion: only names can.)
	if _, err := c.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(c.Res.Table),
		Key: map[string]dtypes.AttributeValue{"name": &dtypes.AttributeValueMemberS{Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	out, _, code = memoCLI(t, bin, "status", "--exact", "--endpoint", endpoint, b)
	// moto's DescribeTable reports no size, as a new table's does on AWS,
	// so status may scan first and then look up (docs/design.md, "The
	// choice"): the reason may say so; the account may not differ.
	if code != 3 || !strings.Contains(out, "total=1 ok=0 error=0 rejected=0 superseded=0 dlq=0 lost=1 (reconciled by names: asked (--exact)") || !strings.HasSuffix(strings.TrimSpace(out), "(settled)") {
		t.Errorf("memo status b after x was deleted: exit %d, want 3\n%s", code, out)
	}
	out, _, code = memoCLI(t, bin, "status", "--exact", "--json", "--endpoint", endpoint, a)
	var j struct {
		Superseded, Lost int
		Settled          bool
	}
	if err := json.Unmarshal([]byte(out), &j); code != 3 || err != nil || j.Superseded != 0 || j.Lost != 1 || !j.Settled {
		t.Errorf("memo status --json a: exit %d, %+v %v\n%s", code, j, err, out)
	}
}

// S3 does not order notifications: with the twin's delivery reordering,
// uploads are split newest first, and the newest content's results stand.
func TestUploadsSplitNewestFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	twin := localtest.StartTwin(t, local.Options{ReorderNotifications: 2, Settings: local.Settings{BatchingWindow: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := twin.Client()
	get := func(names ...string) map[string]record.Result {
		t.Helper()
		got, err := c.Table.Get(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wait := func(id string) {
		t.Helper()
		if _, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle}); err != nil {
			t.Fatal(err)
		}
	}

	// Two keys that share the name x: the older upload is split last, and
	// its write of x is refused.
	older := upload(t, ctx, c, writeFile(t, "older.json", `{"ops": [{"name": "x", "op": "1"}, {"name": "y", "op": "2"}]}`))
	newer := upload(t, ctx, c, writeFile(t, "newer.json", `{"ops": [{"name": "x", "op": "10"}]}`))
	wait(newer)
	wait(older)
	rOld, _, _ := c.Report(ctx, older)
	rNew, _, _ := c.Report(ctx, newer)
	// The reorder decides which upload is planned first; their chunks may
	// then run interleaved (the stamps, not the order, decide).
	if !rNew.StartedAt.Before(rOld.StartedAt) {
		t.Fatalf("not split newest first: newer %v..%v, older %v..%v", rNew.StartedAt, rNew.FinishedAt, rOld.StartedAt, rOld.FinishedAt)
	}
	got := get("x", "y")
	if got["x"].Batch != newer || got["x"].Value.String() != "10" || got["y"].Value.String() != "2" {
		t.Fatalf("x = %+v, y = %+v: want x from the newer upload", got["x"], got["y"])
	}

	// Two uploads of one key, the newer split first. The bucket is
	// versioned and the event names its version (the twin adds the
	// versionId moto leaves out), so the older split reads its own
	// content; its write of s is refused, its t stands.
	first := upload(t, ctx, c, writeFile(t, "same.json", `{"ops": [{"name": "s", "op": "1"}, {"name": "t", "op": "2"}]}`))
	second := upload(t, ctx, c, writeFile(t, "same.json", `{"ops": [{"name": "s", "op": "100"}]}`))
	wait(second)
	wait(first)
	r1, _, _ := c.Report(ctx, first)
	r2, found, _ := c.Report(ctx, second) // an older version of the report key
	if !found || !r2.StartedAt.Before(r1.StartedAt) || r1.Status != record.ReportSplit {
		t.Fatalf("one key, not split newest first (or a report missing): newer %+v, older %+v", r2, r1)
	}
	got = get("s", "t")
	if got["s"].Batch != second || got["s"].Value.String() != "100" {
		t.Fatalf("s = %+v: want the newest content's 100", got["s"])
	}
	if got["t"].Batch != first || got["t"].Value.String() != "2" {
		t.Fatalf("t = %+v: want the older upload's 2 (the newer has no t)", got["t"])
	}
	for id, want := range map[string]string{
		second: "total=1 ok=1 error=0 rejected=0 superseded=0 dlq=0 lost=0",
		first:  "total=2 ok=1 error=0 rejected=0 superseded=1 dlq=0 lost=0",
	} {
		rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
		if err != nil || rec.Line() != "batch "+id+": "+want || !rec.Settled() {
			t.Errorf("%s (settled %v, %v), want %s", rec.Line(), rec.Settled(), err, want)
		}
	}
}

// Issue 18, point 3, as reproduced there: upload k, then k with other
// values, then k's first content again. Each upload is its own batch: the
// third memo submit --wait follows its own upload to its own account, the
// first content's values stand when it returns, and the first upload's
// account stays readable (superseded by the third, which shares its ETag).
func TestSameContentUploadedAgainIsItsOwnBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	bin := buildMemo(t)
	twin := localtest.StartTwin(t, local.Options{Settings: local.Settings{BatchingWindow: 200 * time.Millisecond}})
	endpoint := twin.Endpoint()
	first := `{"ops": [{"name": "x", "op": "1+1"}, {"name": "y", "op": "2+2"}]}`
	second := `{"ops": [{"name": "x", "op": "10+10"}, {"name": "y", "op": "20+20"}]}`
	submit := func(body string) (string, string) {
		out, errOut, code := memoCLI(t, bin, "submit", "--wait", "--key", "batches/k.json", "--endpoint", endpoint, writeFile(t, "k.json", body))
		if code != 0 {
			t.Fatalf("memo submit --wait: exit %d\n%s%s", code, out, errOut)
		}
		l := lines(out)
		return strings.TrimPrefix(l[0], "batch "), l[len(l)-1]
	}
	results := func() string {
		out, _, _ := memoCLI(t, bin, "results", "--endpoint", endpoint, "x", "y")
		return strings.TrimSpace(out)
	}
	id1, _ := submit(first)
	id2, _ := submit(second)
	id3, line3 := submit(first)
	if id1 == id3 || id1 == id2 {
		t.Fatalf("one batch id for two uploads: %s %s %s", id1, id2, id3)
	}
	if want := "batch " + id3 + ": total=2 ok=2 error=0 rejected=0 superseded=0 dlq=0 lost=0"; !strings.HasPrefix(line3, want) {
		t.Fatalf("the third upload's --wait: %q, want %q", line3, want)
	}
	if r := results(); r != "x -> 2\ny -> 4" {
		t.Fatalf("when the third --wait returned: %q, want the third upload's values", r)
	}
	// Each upload's account as the table holds it now (--exact, by
	// names): the older uploads' results were replaced.
	for id, want := range map[string]string{
		id1: "total=2 ok=0 error=0 rejected=0 superseded=2 dlq=0 lost=0 (reconciled by names: asked (--exact)) (settled)",
		id2: "total=2 ok=0 error=0 rejected=0 superseded=2 dlq=0 lost=0 (reconciled by names: asked (--exact)) (settled)",
		id3: "total=2 ok=2 error=0 rejected=0 superseded=0 dlq=0 lost=0 (reconciled by names: asked (--exact)) (settled)",
	} {
		out, _, code := memoCLI(t, bin, "status", "--exact", "--endpoint", endpoint, id)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("memo status %s: exit %d\n%s\nwant %s", id, code, out, want)
		}
	}
	out, _, code := memoCLI(t, bin, "results", "--batch", id3, "--endpoint", endpoint)
	if code != 0 || strings.TrimSpace(out) != "x -> 2\ny -> 4" {
		t.Errorf("memo results --batch %s: exit %d\n%s", id3, code, out)
	}
}
