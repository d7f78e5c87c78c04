package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/faults"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
)

// buildMemo builds the memo command.
func buildMemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "memo")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/memo").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// memoCLI runs the memo binary and returns stdout, stderr and the exit code.
func memoCLI(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL=", "MEMO_WORKSPACE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestDLQPathAndRedrive follows messages to the DLQ and back on the twin,
// through the memo command: poison messages (bodies compute cannot decode)
// and the ops of a batch whose results cannot be stored (every
// PutItem throttled) reach the DLQ after maxReceiveCount receives;
// the DLQ's ApproximateNumberOfMessages (CloudWatch's
// ApproximateNumberOfMessagesVisible, which the dlq-not-empty alarm
// watches) counts them; `memo dlq list` shows them; once DynamoDB is
// healthy, `memo dlq redrive` moves them back (the receive-send-delete loop:
// moto lacks StartMessageMoveTask), the batch's ops are computed exactly
// once and the poison messages return to the DLQ exactly once each. The
// batch's 4 ops travel in one packed message: the DLQ, memo dlq, the
// redrive and status count them one by one (7 ops in 4 messages).
func TestDLQPathAndRedrive(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	bin := buildMemo(t)
	// Faults only on PutItem, off until the batch is uploaded.
	inj := faults.New(faults.Config{Kinds: []faults.Kind{faults.Throttle},
		Only: func(svc, op string) bool { return faults.Key(svc, op) == "DynamoDB.PutItem" }})
	comp := &recorder{}
	twin := localtest.StartTwin(t, local.Options{
		Settings: local.Settings{VisibilityTimeout: 2 * time.Second, ComputeTimeout: 2 * time.Second, MaxReceiveCount: 2, BatchingWindow: 200 * time.Millisecond},
		// The production handlers, as the twin builds them, with compute's
		// deliveries recorded.
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true,
				APIOptions: []func(*middleware.Stack) error{inj.APIOption}})
			if err != nil {
				return nil, nil, err
			}
			log := slog.New(slog.DiscardHandler)
			comp.inner = local.NewInProcess(app.NewCompute(cfg, app.ComputeEnv{Table: p.Table, Workspace: p.Workspace}, log, nil).Handle)
			return local.NewInProcess(app.NewSplitter(cfg, app.SplitterEnv{QueueURL: p.QueueURL, Workspace: p.Workspace}, log, nil).Handle), comp, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := twin.Client()
	endpoint := twin.Endpoint()

	// 1. Poison and unstorable ops go to the DLQ.
	inj.SetRate(1)
	poison := []string{"not json", `{"name":"p1"}`, `{"name":"p2","op":"1","batch":"b","extra":true}`}
	sendRaw(t, ctx, c, c.Res.QueueURL, poison...)
	file := filepath.Join(t.TempDir(), "dlq.json")
	if err := os.WriteFile(file, []byte(`{"ops": [{"name": "d_a", "op": "1+1"}, {"name": "d_b", "op": "2*3"}, {"name": "d_c", "op": "10/4"}, {"name": "d_d", "op": "1/0"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := upload(t, ctx, c, file)
	const total, msgsTotal = 7, 4 // ops; messages: 3 poison, 1 pack of 4
	start := time.Now()
	eventually(t, time.Minute, "4 messages in the DLQ", func() (bool, string) {
		dv, dnv := depth(t, ctx, c, c.Res.DLQURL)
		qv, qnv := depth(t, ctx, c, c.Res.QueueURL)
		return dv == msgsTotal && dnv == 0 && qv+qnv == 0, "dlq visible=" + strconv.Itoa(dv) + " in flight=" + strconv.Itoa(dnv) + ", ops queue " + strconv.Itoa(qv+qnv)
	})
	t.Logf("4 messages (7 ops) reached the DLQ in %v", time.Since(start).Round(time.Millisecond))
	for _, p := range poison {
		if n := comp.count(p); n != 2 {
			t.Errorf("poison %q was delivered %d times before the DLQ, want maxReceiveCount=2", p, n)
		}
	}
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !rec.Settled() || rec.Total != 4 || rec.DLQ != 4 || rec.Lost != 0 {
		t.Fatalf("with its ops in the DLQ the batch should be accounted for: %s (%v)", rec.Line(), err)
	}

	// 2. memo dlq list shows them, and leaves them visible to the alarm.
	out, errOut, code := memoCLI(t, bin, "dlq", "list", "--endpoint", endpoint)
	if code != 0 {
		t.Fatalf("memo dlq list: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("memo dlq list:\n%s", out)
	ls := lines(out)
	if len(ls) != total+2 || !strings.HasPrefix(ls[0], "ID") || ls[len(ls)-1] != "7 ops in 4 messages" {
		t.Fatalf("memo dlq list: want a header, a line per op (7) and a count:\n%s", out)
	}
	undecodable, ofBatch := 0, 0
	for _, l := range ls[1 : len(ls)-1] {
		switch {
		case strings.Contains(l, "undecodable:"):
			undecodable++
		case strings.Contains(l, id):
			ofBatch++
		}
	}
	if undecodable != 3 || ofBatch != 4 {
		t.Fatalf("memo dlq list: %d undecodable, %d of the batch; want 3 and 4:\n%s", undecodable, ofBatch, out)
	}
	jout, _, code := memoCLI(t, bin, "dlq", "list", "--json", "--endpoint", endpoint)
	if code != 0 {
		t.Fatalf("memo dlq list --json: exit %d", code)
	}
	var bodies []string
	for _, l := range lines(jout) {
		var m workspace.DLQMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, m.Body)
		if m.ReceiveCount < 2 {
			t.Errorf("%s: receive count %d, want at least maxReceiveCount=2", m.ID, m.ReceiveCount)
		}
		if (m.Decoded == nil) == (m.DecodeError == "") {
			t.Errorf("%s: decoded %v, decode error %q: want exactly one", m.ID, m.Decoded, m.DecodeError)
		}
	}
	if len(bodies) != msgsTotal {
		t.Fatalf("memo dlq list --json: %d messages, want %d", len(bodies), msgsTotal)
	}
	if dv, dnv := depth(t, ctx, c, c.Res.DLQURL); dv != msgsTotal || dnv != 0 {
		t.Fatalf("after memo dlq list the DLQ shows visible=%d in flight=%d: listing must leave the messages visible", dv, dnv)
	}

	// 3. DynamoDB is healthy again: memo dlq redrive moves all 4 messages
	// (7 ops) back.
	inj.SetRate(0)
	comp.reset()
	out, errOut, code = memoCLI(t, bin, "dlq", "redrive", "--endpoint", endpoint)
	t.Logf("memo dlq redrive: %s%s", out, errOut)
	if code != 0 || !strings.Contains(out, "7 ops in the DLQ, 0 superseded") || !strings.Contains(out, "redrive (receive-send-delete): moved=4 duplicated=0") {
		t.Fatalf("memo dlq redrive: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "StartMessageMoveTask unavailable") {
		t.Errorf("redrive did not say why it used the loop: %q", errOut)
	}
	if dv, dnv := depth(t, ctx, c, c.Res.DLQURL); dv+dnv != 0 {
		t.Fatalf("after the redrive the DLQ still holds %d+%d messages", dv, dnv)
	}

	// 4. The batch's ops are computed, once each; the poison comes back,
	// once each, after two more receives.
	rec, err = c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle})
	if err != nil || !rec.Settled() || rec.OK != 3 || rec.Error != 1 || rec.DLQ != 0 || rec.Lost != 0 {
		t.Fatalf("after the redrive: %s (%v)", rec.Line(), err)
	}
	eventually(t, time.Minute, "the poison back in the DLQ", func() (bool, string) {
		dv, dnv := depth(t, ctx, c, c.Res.DLQURL)
		qv, qnv := depth(t, ctx, c, c.Res.QueueURL)
		return dv == len(poison) && dnv == 0 && qv+qnv == 0 && !twin.Busy(), "dlq " + strconv.Itoa(dv) + "+" + strconv.Itoa(dnv) + ", ops queue " + strconv.Itoa(qv+qnv)
	})
	seen := comp.reset()
	for _, b := range bodies {
		want := 1
		for _, p := range poison {
			if b == p {
				want = 2
			}
		}
		if seen[b] != want {
			t.Errorf("after the redrive, %q was delivered %d times, want %d", b, seen[b], want)
		}
	}
	if len(seen) != msgsTotal {
		t.Errorf("after the redrive compute saw %d distinct messages, want %d: %v", len(seen), msgsTotal, seen)
	}
	msgs, err := c.PeekDLQ(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	for _, m := range msgs {
		back = append(back, m.Body)
	}
	sort.Strings(back)
	want := append([]string(nil), poison...)
	sort.Strings(want)
	if strings.Join(back, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the DLQ holds %q, want each poison message once: %q", back, want)
	}
	res, err := c.Table.Get(ctx, []string{"d_a", "d_b", "d_c", "d_d"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"d_a": "2", "d_b": "6", "d_c": "2.5", "d_d": "error"} {
		r := res[name]
		got := string(r.Status)
		if r.Value != nil {
			got = r.Value.String()
		}
		if got != want || r.Batch != id {
			t.Errorf("%s = %+v, want %s", name, r, want)
		}
	}
}
