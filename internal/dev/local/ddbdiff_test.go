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

// The differential test of motopatch.py's DynamoDB index patch:
// testdata/ddbdiff.py drives moto's DynamoDB with a seeded random sequence
// of puts, deletes, updates (setting and removing the index key), batch
// writes and index queries (paged with Limit, backwards, counted with a
// filter, projected, on an index with a range key too, for keys of the
// right and the wrong type), and prints every answer. moto as installed and
// moto with the patch must print the same.

const ddbDiffCalls = 400

func ddbdiff(ctx context.Context, py, patch string, seed int) (string, error) {
	args := []string{filepath.Join("testdata", "ddbdiff.py"), "--seed", fmt.Sprint(seed), "--calls", fmt.Sprint(ddbDiffCalls)}
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
		return "", fmt.Errorf("ddbdiff.py %v: %v\n%s", args[1:], err, errOut.String())
	}
	return out.String(), nil
}

// indexMutations are deliberate semantic changes to the index patch, each
// of which the differential test must catch.
var indexMutations = []struct{ name, from, to string }{
	{"no write invalidates the grouping", "    return call\n", "    return f\n"},
	{"the grouping is never rebuilt", "if hit is None or hit[0] != gen or hit[1] is not table:", "if hit is None:"},
}

func TestMotoIndexPatchAnswersAsMoto(t *testing.T) {
	py := pythonForDiff(t)
	patch := mustAbs(t, "motopatch.py")
	src, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runs := [][2]any{{"", 1}, {patch, 1}, {"", 2}, {patch, 2}}
	for i, m := range indexMutations {
		if n := strings.Count(string(src), m.from); n != 1 {
			t.Fatalf("mutation %q: %q occurs %d times in motopatch.py, want 1", m.name, m.from, n)
		}
		p := filepath.Join(dir, fmt.Sprintf("mutant%d.py", i))
		if err := os.WriteFile(p, []byte(strings.Replace(string(src), m.from, m.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, [2]any{p, 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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
			outs[i], errs[i] = ddbdiff(ctx, py, r[0].(string), r[1].(int))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == errNotApplied {
			t.Skip("motopatch.py's index patch does not apply to the installed moto (it was written for 5.2.1): moto runs unpatched")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("same answers", func(t *testing.T) {
		for i, seed := range []int{1, 2} {
			moto, patched := outs[2*i], outs[2*i+1]
			if n := strings.Count(moto, "\n"); n < ddbDiffCalls {
				t.Fatalf("seed %d: %d answers, want at least %d", seed, n, ddbDiffCalls)
			}
			if d := firstDifference(moto, patched); d != "" {
				t.Errorf("seed %d: the patched moto answers differently at %s", seed, d)
			}
		}
	})
	t.Run("the transcript exercises what the patch touches", func(t *testing.T) {
		for _, want := range []string{`"LastEvaluatedKey"`, `"ScannedCount": 0`, `"op": "update"`, `"op": "batch"`, `"error": "ValidationException"`} {
			if !strings.Contains(outs[0], want) {
				t.Errorf("no %s in the transcript", want)
			}
		}
	})
	t.Run("a semantic change is caught", func(t *testing.T) {
		for i, m := range indexMutations {
			if firstDifference(outs[0], outs[4+i]) == "" {
				t.Errorf("mutation %q: the differential test did not notice", m.name)
			}
		}
	})
}
