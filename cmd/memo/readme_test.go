package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's command reference from memo help")

const (
	readmePath  = "../../README.md"
	beginMarker = "<!-- memo-help:begin -->\n"
	endMarker   = "<!-- memo-help:end -->"
)

// helpReference is the README's command reference: memo help, then memo
// help <command> for every command.
func helpReference(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	section := func(title string, args ...string) {
		var out, errOut bytes.Buffer
		env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		if code := run(context.Background(), env, args); code != exitOK {
			t.Fatalf("memo %v: exit %d: %s", args, code, errOut.String())
		}
		b.WriteString("### " + title + "\n\n```\n" + strings.TrimRight(out.String(), "\n") + "\n```\n\n")
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

func TestReadmeCommandReferenceMatchesHelp(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", beginMarker, endMarker)
	}
	want := helpReference(t)
	got := s[i+len(beginMarker) : j]
	if got == want {
		return
	}
	if *update {
		s = s[:i+len(beginMarker)] + want + s[j:]
		if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's command reference differs from memo help; run: go test ./cmd/memo -run TestReadme -update")
}
