package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stateJSON is `terraform show -json` of a deployed workspace, reduced to
// what the guard reads.
func stateJSON(ws string, deletionProtection, forceDestroy bool) string {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	return `{"format_version": "1.0", "values": {"root_module": {"child_modules": [{"address": "module.pipeline", "resources": [
	  {"address": "module.pipeline.aws_dynamodb_table.results", "mode": "managed", "type": "aws_dynamodb_table",
	   "values": {"name": "memo-` + ws + `-results", "deletion_protection_enabled": ` + b(deletionProtection) + `}},
	  {"address": "module.pipeline.aws_s3_bucket.batches", "mode": "managed", "type": "aws_s3_bucket",
	   "values": {"bucket": "memo-` + ws + `-batches-123456789012", "force_destroy": ` + b(forceDestroy) + `}},
	  {"address": "module.pipeline.data.aws_region.current", "mode": "data", "type": "aws_region", "values": {}}
	]}]}}}`
}

func TestProtections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state string
		want  []string // substrings, one per reason
	}{
		{"empty state", `{"format_version": "1.0"}`, nil},
		{"test workspace", stateJSON("dev", false, true), nil},
		{"prod", stateJSON("prod", true, false), []string{"aws_dynamodb_table.results (memo-prod-results) has deletion protection", "aws_s3_bucket.batches (memo-prod-batches-123456789012) has force_destroy = false"}},
		{"bucket only", stateJSON("x", false, false), []string{"force_destroy = false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := protections([]byte(tc.state))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("protections = %q, want %d reasons", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("reason %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
	if _, err := protections([]byte("not json")); err == nil {
		t.Error("unreadable state: want an error")
	}
}

// standIns writes a stand-in terraform that records its calls and answers
// show -json with state, and a stand-in aws that answers
// get-account-settings with the given unreserved concurrency.
func standIns(t *testing.T, state string, unreserved string) (dir, calls string) {
	t.Helper()
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("state.json", state)
	write("terraform", `#!/bin/sh
echo "terraform $*" >> "`+calls+`"
case "$*" in *"show -json"*) cat "`+filepath.Join(dir, "state.json")+`" ;; esac
exit 0
`)
	write("aws", `#!/bin/sh
echo "aws $*" >> "`+calls+`"
echo '{"AccountLimit": {"ConcurrentExecutions": `+unreserved+`, "UnreservedConcurrentExecutions": `+unreserved+`}}'
`)
	return dir, calls
}

// runMake runs make in the repository with the stand-ins first on PATH and
// as TERRAFORM; build is taken as done (-o build: the zips do not matter to
// what is checked, and building them takes minutes here).
func runMake(t *testing.T, standIns string, args ...string) (string, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs make (-short)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", append([]string{"-C", root, "--no-print-directory", "-o", "build", "TERRAFORM=" + filepath.Join(standIns, "terraform")}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+standIns+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func readCalls(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

var planOrDestroy = regexp.MustCompile(`(?m)^terraform .*\b(plan|destroy|apply)\b`)

// make destroy WORKSPACE=prod stops before Terraform plans anything, and
// says how to proceed.
func TestMakeDestroyRefusesProdBeforeAnyPlan(t *testing.T) {
	dir, calls := standIns(t, stateJSON("prod", true, false), "1000")
	out, err := runMake(t, dir, "destroy", "WORKSPACE=prod", "AUTO_APPROVE=1")
	if err == nil {
		t.Fatalf("make destroy WORKSPACE=prod succeeded:\n%s", out)
	}
	got := readCalls(t, calls)
	if planOrDestroy.MatchString(got) {
		t.Fatalf("Terraform was asked to plan or destroy:\n%s\n%s", got, out)
	}
	if !strings.Contains(got, "show -json") {
		t.Errorf("the guard did not read the state; calls:\n%s", got)
	}
	for _, want := range []string{"refused before Terraform planned anything", "deletion protection", "force_destroy = false",
		"-var deletion_protection=false -var force_destroy=true", "ALLOW_DESTROY=prod"} {
		if !strings.Contains(out, want) {
			t.Errorf("make destroy's message lacks %q:\n%s", want, out)
		}
	}
}

// Once the protection is lifted, ALLOW_DESTROY=prod lets it through; a test
// workspace needs nothing.
func TestMakeDestroyProceedsWhenAllowed(t *testing.T) {
	for _, tc := range []struct{ name, ws, allow string }{
		{"prod, unprotected and named", "prod", "ALLOW_DESTROY=prod"},
		{"a test workspace", "dev", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, calls := standIns(t, stateJSON(tc.ws, false, true), "1000")
			args := []string{"destroy", "WORKSPACE=" + tc.ws, "AUTO_APPROVE=1"}
			if tc.allow != "" {
				args = append(args, tc.allow)
			}
			out, err := runMake(t, dir, args...)
			if err != nil {
				t.Fatalf("make %v: %v\n%s", args, err, out)
			}
			if got := readCalls(t, calls); !strings.Contains(got, "destroy -var-file=env/"+tc.ws+".tfvars -auto-approve") {
				t.Fatalf("terraform destroy was not run; calls:\n%s", got)
			}
		})
	}
	// ALLOW_DESTROY names one workspace: another's name does not unlock prod.
	dir, calls := standIns(t, stateJSON("prod", false, true), "1000")
	if out, err := runMake(t, dir, "destroy", "WORKSPACE=prod", "ALLOW_DESTROY=dev"); err == nil || planOrDestroy.MatchString(readCalls(t, calls)) {
		t.Fatalf("ALLOW_DESTROY=dev destroyed prod:\n%s", out)
	}
}

// make deploy reads the account's Lambda concurrency in the pipeline's
// region and refuses the defaults (20 + 10 + 1) where it is 10, before
// apply; small-account.tfvars fits.
func TestMakeDeployPreflight(t *testing.T) {
	dir, calls := standIns(t, `{}`, "10")
	out, err := runMake(t, dir, "deploy", "WORKSPACE=dev", "AUTO_APPROVE=1")
	if err == nil {
		t.Fatalf("make deploy with 10 concurrent executions succeeded:\n%s", out)
	}
	got := readCalls(t, calls)
	if planOrDestroy.MatchString(got) {
		t.Fatalf("Terraform applied:\n%s", got)
	}
	if !strings.Contains(got, "aws lambda get-account-settings --region eu-west-1") {
		t.Errorf("the pre-flight did not ask the pipeline's region; calls:\n%s", got)
	}
	for _, want := range []string{"runs up to 31 Lambda invocations", "unreserved concurrency in eu-west-1 is 10", "small-account.tfvars", "PREFLIGHT=warn"} {
		if !strings.Contains(out, want) {
			t.Errorf("make deploy's message lacks %q:\n%s", want, out)
		}
	}

	dir, calls = standIns(t, `{}`, "10")
	out, err = runMake(t, dir, "deploy", "WORKSPACE=dev", "AUTO_APPROVE=1", "TF_ARGS=-var-file=small-account.tfvars -var region=eu-north-1")
	if err != nil {
		t.Fatalf("make deploy with small-account.tfvars: %v\n%s", err, out)
	}
	got = readCalls(t, calls)
	if !strings.Contains(got, "--region eu-north-1") || !strings.Contains(got, "apply -var-file=env/dev.tfvars -auto-approve -var-file=small-account.tfvars") {
		t.Fatalf("calls:\n%s\n%s", got, out)
	}
	if !strings.Contains(out, "runs up to 5 Lambda invocations") {
		t.Errorf("output:\n%s", out)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("variables.tf", `variable "region" {
  type    = string
  default = "eu-west-1"
}
variable "compute_max_concurrency" {
  description = "x"
  default     = 10
}
variable "split_chunk_concurrency" {
  default = 20
}
`)
	write("a.tfvars", "compute_max_concurrency = 4 # comment\nregion = \"us-east-2\"\n")
	write("b.tfvars", "split_chunk_concurrency = 3\n")
	env := map[string]string{"TF_VAR_compute_max_concurrency": "7", "TF_VAR_region": "ap-south-1"}
	s, err := settings(dir, "a.tfvars", "-var-file=b.tfvars -var 'region=eu-central-1'", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"region": "eu-central-1", "compute_max_concurrency": "4", "split_chunk_concurrency": "3"}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, s[k], v, s)
		}
	}
	if _, err := settings(dir, "missing.tfvars", "", func(string) string { return "" }); err == nil {
		t.Error("a named tfvars file that is missing: want an error")
	}
}

// small-account.tfvars sets inputs of the root module, within their
// validations' floor (2 for a mapping's maximum concurrency).
func TestSmallAccountTfvars(t *testing.T) {
	root := filepath.Join("..", "..", "terraform")
	s := map[string]string{}
	if err := readTfvars(filepath.Join(root, "small-account.tfvars"), s, true); err != nil {
		t.Fatal(err)
	}
	vars, err := os.ReadFile(filepath.Join(root, "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range s {
		if !strings.Contains(string(vars), `variable "`+k+`"`) {
			t.Errorf("small-account.tfvars sets %s, which is not an input of the root module", k)
		}
	}
	need, _, _, err := concurrencyNeed(map[string]string{"compute_max_concurrency": s["compute_max_concurrency"], "split_chunk_concurrency": s["split_chunk_concurrency"]})
	if err != nil || need > 10 {
		t.Errorf("small-account.tfvars needs %d concurrent executions (%v); want at most 10", need, err)
	}
}
