package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"

	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
)

// DocumentedState is what the teardown of a documented-path run needs: the
// checkout whose make deploy applied it, and the environment it ran with
// (the same TF_VAR_ settings must reach make destroy).
type DocumentedState struct {
	Root string   `json:"root"`
	Env  []string `json:"env"`
}

// documentedEnv is the environment of a documented-path run: Terraform
// inputs as TF_VAR_ variables (make deploy passes env/<ws>.tfvars and
// TF_ARGS; a workspace e2e-doc-* has no tfvars file), a test workspace's
// settings, and the tag make e2e-clean finds leftovers by.
func documentedEnv(ws, region string) []string {
	return []string{
		"TF_VAR_region=" + region,
		"TF_VAR_force_destroy=true",
		"TF_VAR_deletion_protection=false",
		"TF_VAR_point_in_time_recovery=false",
		"TF_VAR_log_retention_days=1",
		"TF_VAR_batch_retention_days=1",
		"TF_VAR_report_retention_days=1",
		`TF_VAR_tags={"memo-e2e": "` + ws + `"}`,
		"AUTO_APPROVE=1",
	}
}

// TestDocumentedPathOnAWS takes the path the README documents, command by
// command: make deploy, memo submit --from-terraform terraform --wait, make
// destroy, in this checkout's terraform/ (its backend, its build/). The
// record goes to .test-data/runs/<ws>/ before make deploy, so that make
// e2e-clean can destroy what a killed run left. SKIP_documented=1 skips it.
func TestDocumentedPathOnAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (-short)")
	}
	if os.Getenv("MEMO_E2E_TARGET") != "aws" {
		t.Skip("the documented path runs on AWS only (MEMO_E2E_TARGET=aws, make e2e); on the twin, go test ./test/walkthrough/ runs the docs as written")
	}
	if os.Getenv("SKIP_documented") != "" {
		t.Skip("SKIP_documented is set")
	}
	a := &awsTarget{}
	a.preflight(t)
	root := localtest.RepoRoot(t)
	ws := "e2e-doc-" + strings.ToLower(random.UniqueId())
	run, err := filepath.Abs(filepath.Join(runsDir(), ws))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	d := Deployment{Target: "aws", Resources: workspace.Resources{Workspace: ws, Region: a.region}, Account: a.account,
		Documented: &DocumentedState{Root: root, Env: documentedEnv(ws, a.region)}}
	saveRun(t, run, d)
	defer func() {
		if err := documentedTeardown(t, d, run); err != nil {
			t.Errorf("teardown: %v (the record stays in %s: make e2e-clean)", err, run)
		}
	}()

	logger.Default.Logf(t, "make deploy WORKSPACE=%s in account %s, region %s", ws, a.account, a.region)
	if out, err := makeWith(root, d.Documented.Env, 30*time.Minute, "deploy", "WORKSPACE="+ws); err != nil {
		t.Fatalf("make deploy WORKSPACE=%s: %v\n%s", ws, err, out)
	}
	memo := filepath.Join(t.TempDir(), "memo")
	build := exec.Command("go", "build", "-o", memo, "./cmd/memo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/memo: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	submit := exec.CommandContext(ctx, memo, "submit", "--from-terraform", "terraform", "--wait", "examples/work.json")
	submit.Dir = root
	var out bytes.Buffer
	submit.Stdout, submit.Stderr = &out, &out
	err = submit.Run()
	logger.Default.Logf(t, "memo submit --from-terraform terraform --wait examples/work.json:\n%s", out.String())
	if err != nil {
		t.Fatalf("memo submit: %v", err)
	}
	for _, want := range []string{"total=2 ok=2", "lost=0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("memo submit's output lacks %q", want)
		}
	}
}

// documentedTeardown runs make destroy for a documented-path run, and
// removes its record once the workspace is gone.
func documentedTeardown(t *testing.T, d Deployment, run string) error {
	ws := d.Resources.Workspace
	out, err := makeWith(d.Documented.Root, d.Documented.Env, 30*time.Minute, "destroy", "WORKSPACE="+ws)
	if err != nil {
		return fmt.Errorf("make destroy WORKSPACE=%s: %w\n%s", ws, err, out)
	}
	logger.Default.Logf(t, "make destroy WORKSPACE=%s: done", ws)
	return os.RemoveAll(run)
}

// makeWith runs make in root with extra environment variables.
func makeWith(root string, env []string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-C", root, "--no-print-directory"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCleanLeftovers (make e2e-clean) tears down every AWS run whose record
// is still in .test-data/runs (a run killed before its teardown), then asks
// the Resource Groups Tagging API for resources still tagged memo-e2e in
// the region and fails, naming them, if any are left.
func TestCleanLeftovers(t *testing.T) {
	if os.Getenv("MEMO_E2E_TARGET") != "aws" {
		t.Skip("make e2e-clean cleans AWS (MEMO_E2E_TARGET=aws)")
	}
	a := &awsTarget{}
	a.preflight(t)
	records, err := filepath.Glob(filepath.Join(runsDir(), "*", "deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range records {
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Error(err)
			continue
		}
		var d Deployment
		if err := json.Unmarshal(b, &d); err != nil {
			t.Errorf("%s: %v", rec, err)
			continue
		}
		if d.Account != a.account {
			t.Errorf("%s is a run in account %s; the credentials are for %s: not touched", rec, d.Account, a.account)
			continue
		}
		logger.Default.Logf(t, "tearing down the run left in %s (workspace %s)", filepath.Dir(rec), d.Resources.Workspace)
		if d.Documented != nil {
			err = documentedTeardown(t, d, filepath.Dir(rec))
		} else {
			err = (&awsTarget{region: a.region, account: a.account}).teardown(t, &d)
		}
		if err != nil {
			t.Errorf("%s: %v", rec, err)
		}
	}
	if err := os.Remove(runsDir()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logger.Default.Logf(t, "%s: %v", runsDir(), err)
	}

	out, err := exec.Command("aws", "resourcegroupstaggingapi", "get-resources", "--region", a.region,
		"--tag-filters", "Key=memo-e2e", "--output", "json").Output()
	if err != nil {
		t.Fatalf("aws resourcegroupstaggingapi get-resources --tag-filters Key=memo-e2e: %v", err)
	}
	var res struct {
		ResourceTagMappingList []struct {
			ResourceARN string
			Tags        []struct{ Key, Value string }
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	byWorkspace := map[string][]string{}
	for _, r := range res.ResourceTagMappingList {
		for _, tag := range r.Tags {
			if tag.Key == "memo-e2e" {
				byWorkspace[tag.Value] = append(byWorkspace[tag.Value], r.ResourceARN)
			}
		}
	}
	if len(byWorkspace) == 0 {
		logger.Default.Logf(t, "no resource tagged memo-e2e in account %s, region %s", a.account, a.region)
		return
	}
	var lines []string
	for ws, arns := range byWorkspace {
		sort.Strings(arns)
		lines = append(lines, fmt.Sprintf("workspace %s:\n    %s", ws, strings.Join(arns, "\n    ")))
	}
	sort.Strings(lines)
	t.Errorf("resources still tagged memo-e2e in account %s, region %s (the tagging API can list a resource for a while after it was deleted; run again to confirm, then delete what stays by hand):\n  %s",
		a.account, a.region, strings.Join(lines, "\n  "))
}
