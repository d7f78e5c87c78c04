// Package layout_test checks the house rules that the tree itself can show:
// the README's folder table names every package and nothing that is gone,
// the hostile corpus is counted right, and the domain imports no AWS SDK.
package layout_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/retry"
)

const root = "../.."

// goList runs go list in the module root and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// folderTable returns the backquoted folders of the README's folder table.
func folderTable(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "| Folder | What it holds |")
	if i < 0 {
		t.Fatal("README.md has no folder table (| Folder | What it holds |)")
	}
	var folders []string
	for _, line := range strings.Split(s[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			folders = append(folders, strings.TrimSuffix(m[1], "/"))
		}
	}
	return folders
}

func TestReadmeFolderTableMatchesTheTree(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range folderTable(t) {
		listed[f] = true
		if fi, err := os.Stat(filepath.Join(root, f)); err != nil || !fi.IsDir() {
			t.Errorf("README folder table names %s, which is not a folder", f)
		}
	}
	for _, dir := range goList(t, "-f", "{{.Dir}}", "./...") {
		rel, err := filepath.Rel(mustAbs(t, root), dir)
		if err != nil {
			t.Fatal(err)
		}
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("package %s is missing from the README's folder table", rel)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The domain (internal/pipeline) links no AWS SDK: adapters implement the
// interfaces it declares. aws-lambda-go's event types are allowed.
func TestDomainImportsNoAWSSDK(t *testing.T) {
	for _, pkg := range goList(t, "./internal/pipeline/...") {
		for _, dep := range goList(t, "-deps", pkg) {
			if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go") || strings.HasPrefix(dep, "github.com/aws/smithy-go") {
				t.Errorf("%s depends on %s: the domain must not import the AWS SDK", pkg, dep)
				break
			}
		}
	}
}

// The README counts the hostile corpus: the batch files of
// test/testdata/hostile, not its expectations or its README.
func TestReadmeCountsTheHostileCorpus(t *testing.T) {
	dir := filepath.Join(root, "test/testdata/hostile")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if name == "expected.json" || name == "eval_expected.json" {
			continue
		}
		if _, ok := batch.FormatOf(name); ok {
			n++
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`test/testdata/hostile/` holds (\\d+)\\s+hostile batch files").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md does not say how many hostile batch files test/testdata/hostile holds")
	}
	if got, _ := strconv.Atoi(string(m[1])); got != n {
		t.Errorf("README.md says %d hostile batch files; test/testdata/hostile holds %d", got, n)
	}
}

// docs/design.md quotes the retry policy's worst case: the figures
// internal/pipeline/retry computes, not numbers typed in once.
func TestDesignQuotesTheRetryWorstCase(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs/design.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d x %d = %d HTTP attempts and %s s of backoff", retry.Default.Attempts, retry.SDK.Attempts,
		retry.WorstCaseAttempts(), strconv.FormatFloat(retry.WorstCaseSleep().Seconds(), 'f', -1, 64))
	if text := strings.Join(strings.Fields(string(b)), " "); !strings.Contains(text, want) {
		t.Errorf("docs/design.md does not say %q (retry.Default, retry.SDK and their worst case)", want)
	}
}
