package main

import (
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"
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

// Every command takes its flags before or after its arguments, through the
// one parser exec uses: each flag of each command, placed after a
// positional argument, is set, and the argument comes through in order.
func TestFlagsAfterArgumentsForEveryCommand(t *testing.T) {
	for _, c := range commands {
		fs := c.flags()
		fs.VisitAll(func(f *flag.Flag) {
			set := "--" + f.Name + "=" + sampleValue(f)
			fresh := c.flags()
			got, err := parseInterspersed(fresh, []string{"first", set, "second"})
			if err != nil {
				t.Errorf("memo %s first %s second: %v", c.name, set, err)
				return
			}
			if strings.Join(got, " ") != "first second" {
				t.Errorf("memo %s first %s second: positional %q, want [first second]", c.name, set, got)
			}
			if v := fresh.Lookup(f.Name).Value.String(); v == f.DefValue {
				t.Errorf("memo %s: %s after an argument left the flag at its default %q", c.name, set, v)
			}
		})
	}
}

func sampleValue(f *flag.Flag) string {
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		if f.DefValue == "true" {
			return "false"
		}
		return "true"
	}
	switch f.DefValue {
	case "0", "0s", "1", "4", "10", "20", "50000", "2s", "1h0m0s", "10m0s":
		return map[string]string{"0": "7", "0s": "3s", "1": "7", "4": "7", "10": "7", "20": "7", "50000": "500", "2s": "3s", "1h0m0s": "3s", "10m0s": "3s"}[f.DefValue]
	}
	if _, err := time.ParseDuration(f.DefValue); err == nil {
		return "3s"
	}
	if _, err := strconv.ParseFloat(f.DefValue, 64); err == nil {
		return "0.5"
	}
	if f.Name == "env" { // memo local --env K=V
		return "SAMPLE=value"
	}
	return "sample-" + f.Name
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
		wait bool
	}{
		{[]string{"a.json", "--wait"}, "a.json", true},
		{[]string{"--wait", "a.json"}, "a.json", true},
		{[]string{"a.json", "b.json"}, "a.json b.json", false},
		{[]string{"a.json", "--", "--wait"}, "a.json --wait", false},
		{[]string{"--", "-x.json"}, "-x.json", false},
		{nil, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		wait := fs.Bool("wait", false, "")
		got, err := parseInterspersed(fs, c.args)
		if err != nil || strings.Join(got, " ") != c.want || *wait != c.wait {
			t.Errorf("%q: positional %q wait=%v err=%v; want %q wait=%v", c.args, got, *wait, err, c.want, c.wait)
		}
	}
}

// The two commands the issue names, through run: a flag after the file or
// the name is taken as a flag (the endpoint refuses connections, so the
// command fails with exit 1, not with a usage error).
func TestFlagsAfterArgumentsThroughRun(t *testing.T) {
	for _, args := range [][]string{
		{"submit", "../../examples/work.json", "--wait", "--endpoint", "http://127.0.0.1:1", "--timeout", "1s"},
		{"results", "1_plus_1", "--format", "json", "--endpoint", "http://127.0.0.1:1"},
		{"status", "batches/work.json@x", "--json", "--endpoint", "http://127.0.0.1:1"},
	} {
		_, stderr, code := runMemo(args...)
		if code == exitUsage || strings.Contains(stderr, "want exactly") {
			t.Errorf("memo %v: exit %d, stderr %q: flags after the arguments were not parsed", args, code, stderr)
		}
	}
}
