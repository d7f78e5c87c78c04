package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
)

// target is where a command finds its pipeline: a workspace (names by the
// naming rule), an endpoint (the twin), or Terraform's outputs.
type target struct {
	workspace     string
	endpoint      string
	region        string
	profile       string
	fromTerraform string
	getenv        func(string) string
	// cfg is the configuration connect loaded (for the clients a command
	// needs beyond the workspace's: memo explain's CloudWatch Logs).
	cfg aws.Config
}

func targetFlags(fs *flag.FlagSet, env *cli) *target {
	t := &target{}
	fs.StringVar(&t.workspace, "workspace", env.getenv("MEMO_WORKSPACE"),
		"workspace whose resources to use (env MEMO_WORKSPACE; default \"local\" with --endpoint, else \"default\")")
	fs.StringVar(&t.endpoint, "endpoint", env.getenv("AWS_ENDPOINT_URL"),
		"AWS endpoint URL, e.g. the twin's (env AWS_ENDPOINT_URL)")
	fs.StringVar(&t.region, "region", "", "AWS region (default: the SDK's chain, AWS_REGION or the profile's)")
	fs.StringVar(&t.profile, "profile", "", "shared-config profile (default: the SDK's chain, AWS_PROFILE)")
	fs.StringVar(&t.fromTerraform, "from-terraform", "",
		"read the resource names and the region from terraform output -json run in `DIR` (the terraform/ folder; the CLI is $TF, else terraform on PATH, else DIR/../bin/terraform)")
	t.getenv = env.getenv
	return t
}

// connect resolves the target into a client.
func (t *target) connect(ctx context.Context) (*workspace.Client, error) {
	opts := awsconfig.Options{Endpoint: t.endpoint, Region: t.region, Profile: t.profile}
	if t.endpoint != "" {
		// Emulators accept any credentials; use fixed ones so that a
		// machine without AWS credentials can talk to the twin.
		opts.StaticCredentials = true
		// The twin's timing is AWS's scaled down (memo help status).
		status.CountLag, status.FailedSettleAfter = status.TwinCountLag, status.TwinFailedSettleAfter
	}
	var res workspace.Resources
	if t.fromTerraform != "" {
		r, err := terraformOutputs(ctx, t.fromTerraform, t.getenv)
		if err != nil {
			return nil, err
		}
		res = r
		if opts.Region == "" {
			opts.Region = r.Region
		}
	}
	cfg, err := awsconfig.Load(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	t.cfg = cfg
	if t.endpoint == "" {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := cfg.Credentials.Retrieve(cctx)
		cancel()
		if err != nil {
			return nil, &exitError{code: exitFailure, err: fmt.Errorf("no AWS credentials found (configure them with aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; or give --endpoint to use the local twin): %v", err)}
		}
	}
	if t.fromTerraform != "" {
		// The outputs name the ops queues; the chunk queues and the
		// split-failures queue follow the naming rule.
		if err := workspace.Complete(ctx, cfg, &res); err != nil {
			return nil, err
		}
	} else {
		ws := t.workspace
		if ws == "" {
			ws = "default"
			if t.endpoint != "" {
				ws = local.DefaultWorkspace
			}
		}
		res, err = workspace.Discover(ctx, cfg, ws)
		if err != nil {
			return nil, err
		}
	}
	return workspace.New(cfg, res), nil
}

// terraformOutputs reads the root module's outputs (terraform/outputs.tf).
func terraformOutputs(ctx context.Context, dir string, getenv func(string) string) (workspace.Resources, error) {
	bin, err := terraformCLI(dir, getenv)
	if err != nil {
		return workspace.Resources{}, err
	}
	cmd := exec.CommandContext(ctx, bin, "output", "-json")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return workspace.Resources{}, fmt.Errorf("%s output -json in %s: %w", bin, dir, err)
	}
	return parseTerraformOutputs(out)
}

// terraformCLI finds the CLI that reads dir's state: $TF (a name on PATH or
// a path: terraform or tofu, as terraform.mk's TF), else terraform on PATH,
// else the pinned one make installs into bin/ beside dir (make deploy's).
func terraformCLI(dir string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if tf := getenv("TF"); tf != "" {
		p, err := exec.LookPath(tf)
		if err != nil {
			return "", fmt.Errorf("--from-terraform: TF=%s: %v", tf, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	tried := []string{}
	for _, name := range []string{"terraform", "tofu"} {
		p := filepath.Join(filepath.Dir(abs), "bin", name)
		tried = append(tried, p)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("--from-terraform %s needs the Terraform CLI: none on PATH, TF unset, and none at %s (make deploy installs bin/terraform; or set TF=/path/to/terraform)",
		dir, strings.Join(tried, " or "))
}

func parseTerraformOutputs(out []byte) (workspace.Resources, error) {
	var raw map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return workspace.Resources{}, fmt.Errorf("terraform outputs: %w", err)
	}
	str := func(k string) string {
		if v, ok := raw[k].Value.(string); ok {
			return v
		}
		return ""
	}
	r := workspace.Resources{
		Workspace: str("workspace"), Region: str("region"), Bucket: str("bucket"), Table: str("table"),
		BatchesTable: str("batches_table"), QueueURL: str("queue_url"), DLQURL: str("dlq_url"),
		SplitterFunction: str("splitter_function"),
	}
	if r.Bucket == "" || r.Table == "" || r.QueueURL == "" {
		return r, errors.New("terraform outputs lack bucket, table or queue_url: is this memo's terraform directory, applied?")
	}
	return r, nil
}
