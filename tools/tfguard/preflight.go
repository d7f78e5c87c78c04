package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// preflightVars are the inputs the pre-flight reads.
var preflightVars = []string{"region", "compute_max_concurrency", "split_chunk_concurrency"}

// settings resolves preflightVars as Terraform would for make deploy's
// command line (Terraform's variable precedence, lowest first: the
// defaults, TF_VAR_ variables, terraform.tfvars, *.auto.tfvars, then -var
// and -var-file in the order given: make passes env/<ws>.tfvars first, then
// TF_ARGS).
func settings(dir, varFile, tfArgs string, getenv func(string) string) (map[string]string, error) {
	vars, err := os.ReadFile(filepath.Join(dir, "variables.tf"))
	if err != nil {
		return nil, err
	}
	s := map[string]string{}
	for _, name := range preflightVars {
		re := regexp.MustCompile(`(?s)variable\s+"` + name + `"\s*\{.*?\n\s*default\s*=\s*([^\n]+)`)
		if m := re.FindSubmatch(vars); m != nil {
			s[name] = unquote(string(m[1]))
		}
		if v := getenv("TF_VAR_" + name); v != "" {
			s[name] = v
		}
	}
	files := []string{"terraform.tfvars"}
	auto, _ := filepath.Glob(filepath.Join(dir, "*.auto.tfvars"))
	sort.Strings(auto)
	for _, a := range auto {
		files = append(files, filepath.Base(a))
	}
	for _, f := range files {
		if err := readTfvars(filepath.Join(dir, f), s, false); err != nil {
			return nil, err
		}
	}
	if varFile != "" {
		if err := readTfvars(filepath.Join(dir, varFile), s, true); err != nil {
			return nil, err
		}
	}
	args := strings.Fields(tfArgs)
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `'"`)
		next := func() string {
			if i+1 < len(args) {
				i++
				return strings.Trim(args[i], `'"`)
			}
			return ""
		}
		switch {
		case a == "-var":
			setVar(s, next())
		case strings.HasPrefix(a, "-var="):
			setVar(s, strings.TrimPrefix(a, "-var="))
		case a == "-var-file":
			if err := readTfvars(filepath.Join(dir, next()), s, true); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-var-file="):
			if err := readTfvars(filepath.Join(dir, strings.TrimPrefix(a, "-var-file=")), s, true); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func setVar(s map[string]string, kv string) {
	if k, v, ok := strings.Cut(kv, "="); ok {
		s[strings.TrimSpace(k)] = unquote(v)
	}
}

var tfvarsLine = regexp.MustCompile(`^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$`)

// readTfvars reads the simple `name = value` lines of a tfvars file (the
// form of env/*.tfvars); a missing file is an error only when it was named.
func readTfvars(path string, s map[string]string, required bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if !required && os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line[:i], `"`) {
			line = line[:i]
		}
		if m := tfvarsLine.FindStringSubmatch(line); m != nil {
			s[m[1]] = unquote(m[2])
		}
	}
	return nil
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if u, err := strconv.Unquote(v); err == nil {
		return u
	}
	return v
}

type accountSettings struct {
	AccountLimit struct {
		ConcurrentExecutions           int `json:"ConcurrentExecutions"`
		UnreservedConcurrentExecutions int `json:"UnreservedConcurrentExecutions"`
	} `json:"AccountLimit"`
}

// concurrencyNeed is what the pipeline can run at once: both SQS mappings
// at their maximum concurrency, and the splitter invoked by S3 for an
// upload (asynchronous invocations are not bounded by a mapping; one batch
// at a time is the floor counted here).
func concurrencyNeed(s map[string]string) (need, compute, chunks int, err error) {
	compute, err = strconv.Atoi(s["compute_max_concurrency"])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("compute_max_concurrency %q: %v", s["compute_max_concurrency"], err)
	}
	chunks, err = strconv.Atoi(s["split_chunk_concurrency"])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("split_chunk_concurrency %q: %v", s["split_chunk_concurrency"], err)
	}
	return compute + chunks + 1, compute, chunks, nil
}

func preflight(aws, dir, ws, varFile, tfArgs string, getenv func(string) string, stdout, stderr io.Writer) int {
	s, err := settings(dir, varFile, tfArgs, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "make deploy: pre-flight: %v\n", err)
		return 1
	}
	need, compute, chunks, err := concurrencyNeed(s)
	if err != nil {
		fmt.Fprintf(stderr, "make deploy: pre-flight: %v\n", err)
		return 1
	}
	region := s["region"]
	cmd := exec.Command(aws, "lambda", "get-account-settings", "--region", region, "--output", "json")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		// Terraform will say what is wrong with the credentials; the
		// pre-flight only advises.
		fmt.Fprintf(stderr, "make deploy: pre-flight: could not read the account's Lambda concurrency in %s (aws lambda get-account-settings: %v %s); not checked: the pipeline runs up to %d invocations at once\n",
			region, err, strings.TrimSpace(errb.String()), need)
		return 0
	}
	var a accountSettings
	if err := json.Unmarshal(out, &a); err != nil {
		fmt.Fprintf(stderr, "make deploy: pre-flight: aws lambda get-account-settings: %v\n", err)
		return 1
	}
	free := a.AccountLimit.UnreservedConcurrentExecutions
	fmt.Fprintf(stdout, "make deploy: pre-flight: memo-%s runs up to %d Lambda invocations at once in %s (compute_max_concurrency %d + split_chunk_concurrency %d + 1 split of an upload); the account has %d, %d unreserved\n",
		ws, need, region, compute, chunks, a.AccountLimit.ConcurrentExecutions, free)
	if need <= free {
		return 0
	}
	fmt.Fprintf(stderr, `make deploy: pre-flight: refused: the settings need %d concurrent executions, the account's unreserved concurrency in %s is %d.
Lambda would throttle the event source mappings, and throttled SQS invocations still count receives
toward the DLQ (max_receive_count): ops would land in memo-%s-ops-dlq for want of concurrency.
Deploy with the small-account settings, or ask AWS for more (Service Quotas, "Concurrent executions"):
  make deploy WORKSPACE=%s TF_ARGS='-var-file=small-account.tfvars'
PREFLIGHT=warn deploys anyway.
`, need, region, free, ws, ws)
	return 1
}
