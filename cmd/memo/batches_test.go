package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memo batches on the twin: three uploads (a good batch, a rejected one,
// and the good one's key again), listed newest first with their states and
// counts, as a table and as JSON.
func TestBatchesListsUploadsNewestFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := serve(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"ops": [{"name": "b1", "op": "1+1"}, {"name": "b2", "op": "2*3"}, {"name": "b3", "op": "1/0"}]}`)
	bad := write("bad.json", `{"ops": [`)
	again := write("again.json", `{"ops": [{"name": "b1", "op": "5+5"}]}`)
	for _, up := range []struct{ key, file string }{
		{"batches/good.json", good}, {"batches/bad.json", bad}, {"batches/good.json", again},
	} {
		if out, code := s.memo(t, "submit", "--key", up.key, "--wait", up.file); code != 0 && code != 4 {
			t.Fatalf("memo submit %s: exit %d\n%s", up.key, code, out)
		}
	}

	out, code := s.memo(t, "batches", "--json")
	if code != 0 {
		t.Fatalf("memo batches --json: exit %d\n%s", code, out)
	}
	type row struct {
		Key, State    string
		Ops, Rejected int
	}
	var got []row
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		got = append(got, r)
	}
	want := []row{
		{Key: "batches/good.json", State: "split", Ops: 1},
		{Key: "batches/bad.json", State: "rejected"},
		{Key: "batches/good.json", State: "split", Ops: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("memo batches --json, newest first (-want +got):\n%s", diff)
	}

	out, code = s.memo(t, "batches", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "UPLOADED") || !strings.Contains(lines[2], "batches/bad.json") || !strings.Contains(lines[2], "rejected") {
		t.Fatalf("memo batches --limit 2: exit %d\n%s", code, out)
	}
}
