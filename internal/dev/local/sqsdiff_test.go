package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

const diffCalls = 2000

// pythonForDiff returns a python3 that imports moto, or skips the test.
func pythonForDiff(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import moto.sqs.models").Run() != nil {
		t.Skip("python3 with moto not found; the patch is not used without it")
	}
	return py
}

// sqsdiff runs the harness; patch "" is moto as installed.
func sqsdiff(ctx context.Context, py, patch string, seed int) (string, error) {
	args := []string{filepath.Join("testdata", "sqsdiff.py"), "--seed", fmt.Sprint(seed), "--calls", fmt.Sprint(diffCalls)}
	if patch != "" {
		args = append(args, "--patch", patch)
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			return "", errNotApplied
		}
		return "", fmt.Errorf("sqsdiff.py %v: %v\n%s", args[1:], err, errOut.String())
	}
	return out.String(), nil
}

var errNotApplied = fmt.Errorf("the patch does not apply to this moto")

// firstDifference names the first line where two transcripts differ, or "".
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  moto:    %.600s\n  patched: %.600s", i+1, wl, gl)
		}
	}
	return ""
}

// runAll runs the harness for each (patch, seed) in parallel, two at a
// time (this machine has two cores).
func runAll(t *testing.T, py string, runs [][2]any) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	outs, errs := make([]string, len(runs)), make([]error, len(runs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i], errs[i] = sqsdiff(ctx, py, r[0].(string), r[1].(int))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == errNotApplied {
			t.Skip("motopatch.py does not apply to the installed moto (it was written for 5.2.1): moto runs unpatched")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return outs
}

// mutations are deliberate semantic changes to motopatch.py, each of which
// the differential test must catch.
var mutations = []struct{ name, from, to string }{
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
	py := pythonForDiff(t)
	patch, err := filepath.Abs("motopatch.py")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runs := [][2]any{{"", 1}, {patch, 1}, {"", 2}, {patch, 2}}
	for i, m := range mutations {
		if n := strings.Count(string(src), m.from); n != 1 {
			t.Fatalf("mutation %q: %q occurs %d times in motopatch.py, want 1", m.name, m.from, n)
		}
		p := filepath.Join(dir, fmt.Sprintf("mutant%d.py", i))
		if err := os.WriteFile(p, []byte(strings.Replace(string(src), m.from, m.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, [2]any{p, 1})
	}
	outs := runAll(t, py, runs)

	t.Run("same answers", func(t *testing.T) {
		for i, seed := range []int{1, 2} {
			moto, patched := outs[2*i], outs[2*i+1]
			if n := strings.Count(moto, "\n"); n < diffCalls {
				t.Fatalf("seed %d: %d answers, want at least %d", seed, n, diffCalls)
			}
			if d := firstDifference(moto, patched); d != "" {
				t.Errorf("seed %d: the patched moto answers differently at %s", seed, d)
			}
		}
	})
	t.Run("the transcript exercises what the patch touches", func(t *testing.T) {
		moto := outs[0]
		for _, want := range []string{
			`"error": "ReceiptHandleIsInvalid"`, // stale, foreign and invalid handles
			`"op": "purge"`,
			`"queue": "dlq"`,
			`"ApproximateNumberOfMessagesDelayed": 1`,
			`"receives": 3`, // received maxReceiveCount times, then redriven
		} {
			if !strings.Contains(moto, want) {
				t.Errorf("no %s in the transcript", want)
			}
		}
	})
	t.Run("a semantic change is caught", func(t *testing.T) {
		for i, m := range mutations {
			if firstDifference(outs[0], outs[4+i]) == "" {
				t.Errorf("mutation %q: the differential test did not notice", m.name)
			}
		}
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
	if got, want := out.String(), "['clock', 'index']\nTrue\n"; got != want {
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

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
