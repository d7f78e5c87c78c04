package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The differential test of motopatch.py: testdata/sqsdiff.py drives moto's
// SQS backend with a seeded random sequence of calls (send, send batch,
// receive with and without a visibility timeout, delete and delete batch
// with current, stale, repeated, foreign and invalid handles, change
// visibility, redrive to the DLQ after maxReceiveCount, FIFO groups, delays,
// purge, queue attributes) under a frozen clock, and prints every answer
// with ids and receipt handles replaced by the order they appeared in. moto
// as installed and moto with the patch must print the same.

var sqsDiff = motoDiff{script: "sqsdiff.py", calls: 2000, timeout: 2 * time.Minute}

// mutations are deliberate semantic changes to motopatch.py, each of which
// the differential test must catch.
var mutations = []mutation{
	{"a receive forgets to index the new receipt handle",
		"store.received(message)", "pass"},
	{"a message is visible again at visible_at, not after it",
		"lambda visible_at: now > visible_at", "lambda visible_at: now >= visible_at"},
	{"a delayed message is available only after delayed_until, not at it",
		"lambda delayed_until: now >= delayed_until", "lambda delayed_until: now > delayed_until"},
	{"redrive one receive after maxReceiveCount",
		`>= queue.redrive_policy["maxReceiveCount"]`, `> queue.redrive_policy["maxReceiveCount"]`},
	{"a FIFO message skipped for its group is dropped from the available ones",
		"seen.append(message)\n                        continue", "continue"},
	{"a deleted message's handles are not remembered as deleted",
		"self.deleted_messages.update(message.all_receipt_handles)", "pass"},
}

func TestMotoPatchAnswersAsMoto(t *testing.T) {
	outs := sqsDiff.runAll(t, pythonForDiff(t), mutations)
	sqsDiff.check(t, outs, mutations, []string{
		`"error": "ReceiptHandleIsInvalid"`, // stale, foreign and invalid handles
		`"op": "purge"`,
		`"queue": "dlq"`,
		`"ApproximateNumberOfMessagesDelayed": 1`,
		`"receives": 3`, // received maxReceiveCount times, then redriven
	})
}

// TestMotoPatchRefusesOtherMoto: a moto whose internals differ from those
// the patch was written for runs unpatched, and the twin says so.
func TestMotoPatchRefusesOtherMoto(t *testing.T) {
	py := pythonForDiff(t)
	script := `
import importlib.util, sys
spec = importlib.util.spec_from_file_location("motopatch", "motopatch.py")
p = importlib.util.module_from_spec(spec)
spec.loader.exec_module(p)
import moto.sqs.models as m
orig = m.Queue.delete_message
def delete_message(self, receipt_handle):  # another moto's version
    return orig(self, receipt_handle)
m.Queue.delete_message = delete_message
print(p.apply())
print(m.Queue.delete_message is delete_message)
`
	file := filepath.Join(t.TempDir(), "other.py")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(script, `"motopatch.py"`, fmt.Sprintf("%q", mustAbs(t, "motopatch.py")))), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(py, file)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if got, want := out.String(), "['clock', 'index', 'conditions', 'dispatch', 'keepalive']\nTrue\n"; got != want {
		if strings.HasPrefix(got, "[]") {
			t.Skip("motopatch.py does not apply to the installed moto at all")
		}
		t.Errorf("applied and kept moto's own delete_message: %q, want %q", got, want)
	}
	if !strings.Contains(errOut.String(), `moto speed patch 'store' not applied`) ||
		!strings.Contains(errOut.String(), "Queue.delete_message") {
		t.Errorf("stderr does not say which patch was refused and why: %q", errOut.String())
	}
}
