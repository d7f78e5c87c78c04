package walkthrough

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// skipMarker before a block leaves it out of the run; the marker says why
// (for example a block that shows by hand what make deploy does).
const skipMarker = "<!-- walkthrough: skip"

// quickStartMarker names the README's quick start, wherever the README's
// sections live (README.md or docs/).
const quickStartMarker = "<!-- walkthrough: README quick start -->"

// shellBlocks returns the ```sh blocks of md, in order, but those right
// after a skip marker.
func shellBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	skip := false
	prev := ""
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```sh":
			cur = &strings.Builder{}
			skip = strings.HasPrefix(prev, skipMarker)
		case cur != nil && trimmed == "```":
			if !skip {
				blocks = append(blocks, cur.String())
			}
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	return blocks
}

// section is the text of md from the heading line that starts with
// heading up to the next heading of the same or a higher level.
func section(md, heading string) (string, error) {
	lines := strings.Split(md, "\n")
	level := strings.Index(heading, " ")
	start := -1
	for i, l := range lines {
		if start < 0 {
			if strings.HasPrefix(l, heading) {
				start = i
			}
			continue
		}
		if n := strings.Index(l, " "); n > 0 && n <= level && strings.Trim(l[:n], "#") == "" {
			return strings.Join(lines[start:i], "\n"), nil
		}
	}
	if start < 0 {
		return "", fmt.Errorf("no heading %q", heading)
	}
	return strings.Join(lines[start:], "\n"), nil
}

// quickStart finds the README's quick start: the first ```sh block after
// quickStartMarker in README.md or a file under docs/.
func quickStart(root string) (file, block string, err error) {
	candidates := []string{filepath.Join(root, "README.md")}
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	candidates = append(candidates, more...)
	for _, f := range candidates {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.Index(s, quickStartMarker)
		if i < 0 {
			continue
		}
		blocks := shellBlocks(s[i:])
		if len(blocks) == 0 {
			return f, "", fmt.Errorf("%s: no ```sh block after %s", f, quickStartMarker)
		}
		return f, blocks[0], nil
	}
	return "", "", fmt.Errorf("no %s in README.md or docs/*.md", quickStartMarker)
}

func TestShellBlocks(t *testing.T) {
	md := "# T\n\n```sh\none\n```\n\ntext\n" + skipMarker + " (by hand) -->\n\n```sh\nskipped\n```\n```go\nnot shell\n```\n  ```sh\ntwo\nthree\n  ```\n"
	got := shellBlocks(md)
	want := []string{"one\n", "two\nthree\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("shellBlocks (-want +got):\n%s", diff)
	}
}

func TestSection(t *testing.T) {
	md := "# A\n## Walkthrough: x\n### 1\na\n### 2\nb\n## Next\nc\n"
	got, err := section(md, "## Walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	if want := "## Walkthrough: x\n### 1\na\n### 2\nb"; got != want {
		t.Fatalf("section = %q, want %q", got, want)
	}
	if _, err := section(md, "## Missing"); err == nil {
		t.Fatal("a missing heading is an error")
	}
}
