package local

// The harness of the differential tests of motopatch.py (sqsdiff_test.go,
// ddbdiff_test.go): a Python script under testdata drives moto with a
// seeded random sequence of calls and prints every answer; moto as
// installed, moto with the patch and moto with deliberately broken copies
// of the patch are run and their transcripts compared.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pythonForDiff returns a python3 that imports moto, or skips the test.
func pythonForDiff(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import moto.sqs.models").Run() != nil {
		t.Skip("python3 with moto not found; the patch is not used without it")
	}
	return py
}

var errNotApplied = fmt.Errorf("the patch does not apply to this moto")

// motoDiff is one differential harness: testdata/<script>, run for calls
// calls, all its runs within timeout.
type motoDiff struct {
	script  string
	calls   int
	timeout time.Duration
}

// run runs the harness once; patch "" is moto as installed. The script
// exits 3 when the patch it tests does not apply.
func (d motoDiff) run(ctx context.Context, py, patch string, seed int) (string, error) {
	args := []string{filepath.Join("testdata", d.script), "--seed", fmt.Sprint(seed), "--calls", fmt.Sprint(d.calls)}
	if patch != "" {
		args = append(args, "--patch", patch)
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return "", errNotApplied
		}
		return "", fmt.Errorf("%s %v: %v\n%s", d.script, args[1:], err, errOut.String())
	}
	return out.String(), nil
}

// mutation is a deliberate semantic change to motopatch.py (the one
// occurrence of from replaced by to) that a differential test must catch.
type mutation struct{ name, from, to string }

// runAll runs the harness on seeds 1 and 2 with moto as installed and with
// motopatch.py (outs[0..3]: moto 1, patched 1, moto 2, patched 2), then
// each mutant of the patch on seed 1 (outs[4+i]), two runs at a time (this
// machine has two cores). It skips the test when the patch does not apply.
func (d motoDiff) runAll(t *testing.T, py string, mutants []mutation) []string {
	t.Helper()
	patch := mustAbs(t, "motopatch.py")
	src, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type run struct {
		patch string
		seed  int
	}
	runs := []run{{"", 1}, {patch, 1}, {"", 2}, {patch, 2}}
	for i, m := range mutants {
		if n := strings.Count(string(src), m.from); n != 1 {
			t.Fatalf("mutation %q: %q occurs %d times in motopatch.py, want 1", m.name, m.from, n)
		}
		p := filepath.Join(dir, fmt.Sprintf("mutant%d.py", i))
		if err := os.WriteFile(p, []byte(strings.Replace(string(src), m.from, m.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run{p, 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	outs, errs := make([]string, len(runs)), make([]error, len(runs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i], errs[i] = d.run(ctx, py, r.patch, r.seed)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err == errNotApplied {
			t.Skipf("motopatch.py's patch tested by %s does not apply to the installed moto (it was written for 5.2.1): moto runs unpatched", d.script)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return outs
}

// check runs the three subtests both differential tests make: the same
// answers on both seeds, a transcript that holds each of wants, and every
// mutant caught.
func (d motoDiff) check(t *testing.T, outs []string, mutants []mutation, wants []string) {
	t.Run("same answers", func(t *testing.T) {
		for i, seed := range []int{1, 2} {
			moto, patched := outs[2*i], outs[2*i+1]
			if n := strings.Count(moto, "\n"); n < d.calls {
				t.Fatalf("seed %d: %d answers, want at least %d", seed, n, d.calls)
			}
			if diff := firstDifference(moto, patched); diff != "" {
				t.Errorf("seed %d: the patched moto answers differently at %s", seed, diff)
			}
		}
	})
	t.Run("the transcript exercises what the patch touches", func(t *testing.T) {
		for _, want := range wants {
			if !strings.Contains(outs[0], want) {
				t.Errorf("no %s in the transcript", want)
			}
		}
	})
	t.Run("a semantic change is caught", func(t *testing.T) {
		for i, m := range mutants {
			if firstDifference(outs[0], outs[4+i]) == "" {
				t.Errorf("mutation %q: the differential test did not notice", m.name)
			}
		}
	})
}

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

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
