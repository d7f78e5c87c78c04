package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func runMemo(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	env := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code = run(context.Background(), env, args)
	return out.String(), errOut.String(), code
}

func TestUsageErrors(t *testing.T) {
	// A gzip stream (its magic bytes suffice) under a plain suffix.
	t.Chdir(t.TempDir())
	if err := os.WriteFile("gzipped.json", []byte{0x1f, 0x8b, 8, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("zstd.csv", []byte{0x28, 0xb5, 0x2f, 0xfd, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: memo <command>"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"results"}, "give op names, or --batch ID, or --all"},
		{[]string{"results", "--format", "xml", "a"}, `--format "xml"`},
		{[]string{"results", "--all", "a"}, "give op names, or --batch ID, or --all"},
		{[]string{"status"}, "want exactly one batch id"},
		{[]string{"dlq", "purge"}, "want 'list' or 'redrive'"},
		{[]string{"submit", "--key", "other/x.json", "f.json"}, "batches are read only under batches/"},
		{[]string{"submit", "--key", "batches/x.txt", "f.json"}, "batches/x.txt: not a batch file: memo reads .json, .jsonl, .csv, .json.gz, .jsonl.gz, .csv.gz, .json.zst, .jsonl.zst or .csv.zst"},
		{[]string{"local", "--batch", "work.txt"}, "--batch: batches/work.txt: not a batch file: memo reads .json, .jsonl, .csv"},
		{[]string{"submit", "gzipped.json"}, "gzipped.json is gzip-compressed: name it batches/gzipped.json.gz"},
		{[]string{"local", "--batch", "zstd.csv"}, "--batch: zstd.csv is zstd-compressed: name it batches/zstd.csv.zst"},
		// Issue 18, point 8: S3's 1,024 bytes less what memo derives.
		{[]string{"submit", "--key", "batches/" + strings.Repeat("k", 1000) + ".json", "f.json"}, "a batch key is at most 940 bytes"},
		{[]string{"local", "--workspace", "Bad_Name"}, `workspace "Bad_Name"`},
		{[]string{"local", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"local", "--op-rules", "JSON"}, `--op-rules "JSON": want "expression" or "json"`},
	} {
		_, stderr, code := runMemo(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("memo %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands {
		out, _, code := runMemo(c.name, "-h")
		if code != exitOK || !strings.Contains(out, "Usage: memo "+c.name) || !strings.Contains(out, "Examples:") && c.name != "local" {
			t.Errorf("memo %s -h: exit %d\n%s", c.name, code, out)
		}
	}
}

func TestParseTerraformOutputs(t *testing.T) {
	out := []byte(`{
	  "bucket": {"sensitive": false, "type": "string", "value": "memo-dev-batches-123"},
	  "table": {"value": "memo-dev-results"}, "batches_table": {"value": "memo-dev-batches"},
	  "queue_url": {"value": "https://sqs.eu-west-1.amazonaws.com/123/memo-dev-ops"},
	  "dlq_url": {"value": "https://sqs.eu-west-1.amazonaws.com/123/memo-dev-ops-dlq"},
	  "region": {"value": "eu-west-1"}, "workspace": {"value": "dev"}}`)
	r, err := parseTerraformOutputs(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bucket != "memo-dev-batches-123" || r.Table != "memo-dev-results" || r.Region != "eu-west-1" || r.BatchesTable != "memo-dev-batches" || r.Workspace != "dev" || !strings.HasSuffix(r.DLQURL, "-dlq") {
		t.Fatalf("%+v", r)
	}
	if _, err := parseTerraformOutputs([]byte(`{}`)); err == nil || !strings.Contains(err.Error(), "applied?") {
		t.Fatalf("empty outputs: %v", err)
	}
}

// /dev/null is a character device, not a terminal: output redirected there
// must not get the table format or the progress bar.
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("isTerminal(/dev/null) = true")
	}
}
