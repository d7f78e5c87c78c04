package main

import (
	"strings"
	"testing"
)

// Flags after the subcommand are parsed, as the help's examples write them
// (memo dlq list --workspace dev): an unknown one is refused by name, a
// stray argument is a usage error, and -h prints the help.
func TestDLQFlagsAfterTheSubcommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"dlq", "redrive", "--loop", "extra"}, "want 'list' or 'redrive'"},
		{[]string{"dlq", "list", "--endpoint"}, "flag needs an argument: -endpoint"},
	} {
		_, stderr, code := runMemo(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("memo %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if out, _, code := runMemo("dlq", "list", "-h"); code != exitOK || !strings.Contains(out, "Usage: memo dlq") {
		t.Errorf("memo dlq list -h: exit %d\n%s", code, out)
	}
}
