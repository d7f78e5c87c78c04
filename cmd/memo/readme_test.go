package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/dev/local/localtest"
)

var update = flag.Bool("update", false, "rewrite docs/commands.md and the README's copy of examples/twin.sh")

const (
	readmePath   = "../../README.md"
	commandsPath = "../../docs/commands.md"
	beginMarker  = "<!-- memo-help:begin -->\n"
	endMarker    = "<!-- memo-help:end -->"
)

// helpReference is the command reference of docs/commands.md: memo help,
// then memo help <command> for every command.
func helpReference(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	section := func(title string, args ...string) {
		var out, errOut bytes.Buffer
		env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		if code := run(context.Background(), env, args); code != exitOK {
			t.Fatalf("memo %v: exit %d: %s", args, code, errOut.String())
		}
		b.WriteString("## " + title + "\n\n```\n" + strings.TrimRight(out.String(), "\n") + "\n```\n\n")
	}
	section("memo help", "help")
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, n := range names {
		section("memo "+n, "help", n)
	}
	return b.String()
}

func TestCommandReferenceMatchesHelp(t *testing.T) {
	doc, err := os.ReadFile(commandsPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		t.Fatalf("docs/commands.md lacks the %q ... %q markers", beginMarker, endMarker)
	}
	want := helpReference(t)
	got := s[i+len(beginMarker) : j]
	if got == want {
		return
	}
	if *update {
		s = s[:i+len(beginMarker)] + want + s[j:]
		if err := os.WriteFile(commandsPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("docs/commands.md differs from memo help; run: go test ./cmd/memo -run TestCommandReference -update")
}

// TestReadmeTwinExample runs examples/twin.sh, which the README shows
// verbatim (the test checks that too), with the memo binary on PATH.
func TestReadmeTwinExample(t *testing.T) {
	script, err := os.ReadFile("../../examples/twin.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- example:twin.sh -->\n```sh\n", "```\n<!-- end example -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the examples/twin.sh block")
	}
	if got := s[i+len(begin) : j]; got != string(script) {
		if *update {
			s = s[:i+len(begin)] + string(script) + s[j:]
			if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Fatal("README.md's copy of examples/twin.sh differs; run: go test ./cmd/memo -run TestReadme -update")
		}
	}
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but the AWS CLI is not installed: the README example needs it")
		}
		t.Skip("the AWS CLI is not installed")
	}
	bin := buildMemo(t)
	cmd := exec.Command("bash", "examples/twin.sh")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/twin.sh: %v\n%s", err, out)
	}
	for _, want := range append(append([]string{mixedLine, "error\tnot a finite number (+Inf): division by zero, or a result out of range"}, mixedResults...), mixedRejections...) {
		if !strings.Contains(string(out), want) {
			t.Errorf("examples/twin.sh output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
