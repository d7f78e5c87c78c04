package walkthrough

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// The stand-in Terraform is this test binary under the name terraform (a
// symlink in the sandbox's bin/). It answers what the walkthrough asks of
// Terraform once a workspace is applied, `output` and `workspace show`,
// with the names of the twin that the stand-in make deploy started, under
// the output names of terraform/outputs.tf. Anything else (init, apply,
// destroy) is not stood in and fails: those run through make.
//
// Its environment (set by the test for the whole walkthrough):
//
//	MEMO_WT_ROOT   the sandbox, a copy of the repository
//	MEMO_WT_STATE  where the stand-in make keeps the twin's summary
//	               (twin.out, memo local's first lines) and the workspace
const (
	envRoot  = "MEMO_WT_ROOT"
	envState = "MEMO_WT_STATE"
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "terraform" && os.Getenv(envState) != "" {
		os.Exit(standInTerraform(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// dashboardSuffix is the dashboard's name after memo-<ws>- (modules/
// pipeline/alarms.tf); the twin has no dashboard.
const dashboardSuffix = "pipeline"

// twinOutputs are the root module's outputs for the running twin: one
// entry per output of terraform/outputs.tf (TestStandInAnswersEveryOutput).
func twinOutputs(ws string, summary map[string]string, region string) map[string]any {
	bucket := summary["bucket"]
	account := bucket[strings.LastIndex(bucket, "-")+1:]
	n := naming.For(ws, account)
	return map[string]any{
		"region":            region,
		"account_id":        account,
		"workspace":         ws,
		"bucket":            bucket,
		"table":             summary["table"],
		"batches_table":     n.Batches,
		"queue_url":         summary["queue"],
		"dlq_url":           summary["dlq"],
		"splitter_function": n.Splitter,
		"compute_function":  n.Compute,
		"dashboard_name":    naming.Prefix + "-" + ws + "-" + dashboardSuffix,
		"alarm_topic_arn":   nil, // create_alarm_topic is off (dev)
		// moto enforces no IAM: a policy that grants nothing stands in.
		"operator_policy_json": `{"Version":"2012-10-17","Statement":[]}`,
	}
}

var outputRE = regexp.MustCompile(`(?m)^output\s+"([A-Za-z0-9_-]+)"`)

// rootOutputs are the output names declared in terraform/outputs.tf.
func rootOutputs(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "terraform", "outputs.tf"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range outputRE.FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names, nil
}

func TestStandInAnswersEveryOutput(t *testing.T) {
	names, err := rootOutputs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	got := twinOutputs("dev", map[string]string{"bucket": "memo-dev-batches-123456789012"}, "eu-west-1")
	for _, n := range names {
		if _, ok := got[n]; !ok {
			t.Errorf("terraform/outputs.tf has output %q, which the stand-in does not answer: add it to twinOutputs", n)
		}
	}
	for n := range got {
		if !contains(names, n) {
			t.Errorf("the stand-in answers output %q, which terraform/outputs.tf does not declare", n)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readSummary parses memo local's first lines ("endpoint: URL" ...).
func readSummary(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			m[k] = v
		}
	}
	return m, sc.Err()
}

func standInTerraform(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "stand-in terraform: "+format+"\n", a...)
		return 1
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "-chdir=") {
		dir := strings.TrimPrefix(args[0], "-chdir=")
		if err := os.Chdir(dir); err != nil {
			// Terraform's own words for a -chdir that does not resolve.
			fmt.Fprintf(os.Stderr, "Error handling -chdir option: chdir %s: no such file or directory\n", dir)
			return 1
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return fail("no command")
	}
	state := os.Getenv(envState)
	wd, _ := os.Getwd()
	wd, _ = filepath.EvalSymlinks(wd)
	tfDir, _ := filepath.EvalSymlinks(filepath.Join(os.Getenv(envRoot), "terraform"))
	// Outside terraform/ there is no configuration and no state: Terraform
	// finds no outputs there, as it finds none before an apply.
	applied := wd == tfDir
	wsb, err := os.ReadFile(filepath.Join(state, "workspace"))
	ws := strings.TrimSpace(string(wsb))
	if err != nil {
		ws, applied = "default", false
	}
	switch args[0] {
	case "workspace":
		if len(args) == 2 && args[1] == "show" {
			fmt.Println(ws)
			return 0
		}
		return fail("terraform %s is not stood in: make deploy and make destroy select workspaces", strings.Join(args, " "))
	case "output":
	default:
		return fail("terraform %s is not stood in: the walkthrough test runs make deploy and make destroy as the twin's start and stop (mark a block that shows them by hand with %s (why) -->)", args[0], skipMarker)
	}
	var outs map[string]any
	if applied {
		summary, err := readSummary(filepath.Join(state, "twin.out"))
		if err != nil {
			return fail("%v", err)
		}
		region, _ := os.ReadFile(filepath.Join(state, "region"))
		outs = twinOutputs(ws, summary, strings.TrimSpace(string(region)))
		for k, v := range outs {
			if v == nil { // Terraform keeps no null outputs in the state
				delete(outs, k)
			}
		}
	}
	rest := args[1:]
	switch {
	case len(rest) == 0:
		if len(outs) == 0 {
			fmt.Fprintln(os.Stderr, "Warning: No outputs found")
			return 0
		}
		keys := make([]string, 0, len(outs))
		for k := range outs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b, _ := json.Marshal(outs[k])
			fmt.Printf("%s = %s\n", k, b)
		}
		return 0
	case len(rest) == 1 && rest[0] == "-json":
		all := map[string]any{}
		for k, v := range outs {
			all[k] = map[string]any{"sensitive": false, "type": "string", "value": v}
		}
		b, _ := json.MarshalIndent(all, "", "  ")
		fmt.Println(string(b))
		return 0
	case len(rest) == 2 && rest[0] == "-raw", len(rest) == 1 && !strings.HasPrefix(rest[0], "-"):
		name := rest[len(rest)-1]
		v, ok := outs[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "Error: Output %q not found\n", name)
			return 1
		}
		if rest[0] == "-raw" {
			fmt.Print(v)
		} else {
			b, _ := json.Marshal(v)
			fmt.Println(string(b))
		}
		return 0
	}
	return fail("terraform output %s is not stood in", strings.Join(rest, " "))
}
