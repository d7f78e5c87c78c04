package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/gruntwork-io/terratest/modules/files"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/gruntwork-io/terratest/modules/terraform"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
)

// awsComputeTimeout makes the DLQ check take minutes rather than the
// defaults' half hour: the module derives the ops queue's visibility timeout
// as local.VisibilityFactor x the compute timeout (60 s), and a poison
// message reaches the DLQ after about max_receive_count of them. That stays
// 5, the least AWS advises for a queue a Lambda function reads ("set the
// maxReceiveCount on the source queue's redrive policy to at least 5",
// Using Lambda with Amazon SQS), so that throttled receives do not send
// good messages to the DLQ.
const (
	awsComputeTimeout  = 10 * time.Second
	awsMaxReceiveCount = 5
)

// awsTeardownReserve is the time the validate stage leaves for the
// teardown: Terraform waits up to 5 minutes for each event source mapping
// to be deleted (two of them), then deletes the functions, queues, roles,
// bucket and table.
const awsTeardownReserve = 20 * time.Minute

// runsDir holds one folder per AWS run, written before anything is applied
// and removed once the teardown succeeded: the copy of terraform/ with its
// state, the run's own build/ and deployment.json. A run killed before its
// teardown (Ctrl-C, a go test -timeout panic) leaves it for make e2e-clean.
func runsDir() string { return filepath.Join(testDataDir, "runs") }

// TerraformState is what the teardown of a later run needs.
type TerraformState struct {
	Dir       string         `json:"dir"` // the copy of terraform/ that holds the state
	Binary    string         `json:"binary"`
	Workspace string         `json:"workspace"`
	Vars      map[string]any `json:"vars"`
}

func (s *TerraformState) options() *terraform.Options {
	return &terraform.Options{
		TerraformDir:    s.Dir,
		TerraformBinary: s.Binary,
		Vars:            s.Vars,
		NoColor:         true,
		EnvVars:         map[string]string{"TF_IN_AUTOMATION": "1"},
		// Fresh IAM roles and policies take a few seconds to be usable by
		// Lambda and its event source mapping.
		RetryableTerraformErrors: map[string]string{
			"cannot be assumed by Lambda":                          "IAM role not yet propagated",
			"does not have permissions to call ReceiveMessage":     "IAM policy not yet propagated",
			"The provided execution role does not have permission": "IAM policy not yet propagated",
		},
		MaxRetries:         3,
		TimeBetweenRetries: 15 * time.Second,
	}
}

// awsTarget deploys the Terraform root module to a new workspace of the
// account the SDK's default credential chain names.
type awsTarget struct {
	region, account string
	tf              *TerraformState // set as soon as there is something to destroy
}

// preflight says which account and region the run will use, before it does
// anything, and skips the test when there are no credentials.
func (a *awsTarget) preflight(t *testing.T) {
	if os.Getenv("AWS_EC2_METADATA_DISABLED") == "" {
		// No probing of the instance metadata endpoint on machines that
		// are not EC2 instances; set AWS_EC2_METADATA_DISABLED=false to use
		// an instance role.
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Skipf("MEMO_E2E_TARGET=aws: the AWS SDK configuration does not load (AWS_PROFILE, ~/.aws/config): %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Skipf("MEMO_E2E_TARGET=aws: no AWS credentials: the SDK's default chain found none "+
			"(AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, AWS_PROFILE / ~/.aws/credentials, SSO, web identity, "+
			"container or, with AWS_EC2_METADATA_DISABLED=false, instance credentials): %v", err)
	}
	if cfg.Region == "" {
		t.Skip("MEMO_E2E_TARGET=aws: no AWS region: set AWS_REGION (or a region in the profile)")
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("MEMO_E2E_TARGET=aws: credentials found (%s) but STS GetCallerIdentity failed: %v", creds.Source, err)
	}
	a.region, a.account = cfg.Region, aws.ToString(id.Account)
	if dl, ok := t.Deadline(); ok && time.Until(dl) < awsTeardownReserve+20*time.Minute {
		t.Fatalf("MEMO_E2E_TARGET=aws: go test -timeout leaves %v; the run needs about 20 minutes and keeps %v for the teardown: use -timeout 90m (make e2e does)",
			time.Until(dl).Round(time.Minute), awsTeardownReserve)
	}
	logger.Default.Logf(t, "MEMO_E2E_TARGET=aws: using AWS account %s in region %s as %s (credentials: %s); "+
		"a deploy creates the Terraform workspace e2e-<random> (resources memo-e2e-<random>-*), the teardown destroys it; %s",
		a.account, a.region, aws.ToString(id.Arn), creds.Source, stagePlan())
}

func (a *awsTarget) deploy(t *testing.T) Deployment {
	root := localtest.RepoRoot(t)
	ws := "e2e-" + strings.ToLower(random.UniqueId())
	run, err := filepath.Abs(filepath.Join(runsDir(), ws))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := files.CopyTerraformFolderToDest(filepath.Join(root, "terraform"), run, "terraform-")
	if err != nil {
		t.Fatal(err)
	}
	// The run's own build folder: two runs in one checkout (or a make build
	// meanwhile) do not write each other's zips.
	build := filepath.Join(run, "build")
	runMake(t, root, "build", "BUILD="+build, "bin/terraform")
	a.tf = &TerraformState{
		Dir:       dir,
		Binary:    filepath.Join(root, "bin", "terraform"),
		Workspace: ws,
		Vars: map[string]any{
			"region":        a.region,
			"artifacts_dir": build,
			// A test workspace: everything goes at destroy, and soon.
			"force_destroy":                     true,
			"deletion_protection":               false,
			"point_in_time_recovery":            false,
			"log_retention_days":                1,
			"batch_retention_days":              1,
			"report_retention_days":             1,
			"noncurrent_version_retention_days": 1,
			"compute_timeout_seconds":           int(awsComputeTimeout.Seconds()),
			"max_receive_count":                 awsMaxReceiveCount,
			"tags":                              map[string]any{"memo-e2e": ws},
		},
	}
	// Saved before apply, always: a teardown (make e2e-clean, or a later
	// run with SKIP_deploy) can destroy a partial apply, whatever ended
	// this run.
	early := Deployment{Target: "aws", Resources: workspace.Resources{Workspace: ws, Region: a.region}, Account: a.account, Terraform: a.tf}
	saveRun(t, run, early)
	if stagesSplit() {
		saveDeployment(t, early)
	}
	opts := a.tf.options()
	terraform.Init(t, opts)
	terraform.WorkspaceSelectOrNew(t, opts, ws)
	logger.Default.Logf(t, "applying terraform/ (copied to %s) in workspace %s, account %s, region %s", dir, ws, a.account, a.region)
	terraform.InitAndApply(t, opts)

	out := terraform.OutputAll(t, opts)
	str := func(key string) string {
		v, ok := out[key].(string)
		if !ok || v == "" {
			t.Fatalf("terraform output %s = %#v, want a string", key, out[key])
		}
		return v
	}
	d := Deployment{
		Target: "aws",
		Resources: workspace.Resources{
			Workspace:    str("workspace"),
			Region:       str("region"),
			Bucket:       str("bucket"),
			Table:        str("table"),
			BatchesTable: str("batches_table"),
			QueueURL:     str("queue_url"),
			DLQURL:       str("dlq_url"),
		},
		Account:           str("account_id"),
		SplitterFunction:  str("splitter_function"),
		ComputeFunction:   str("compute_function"),
		VisibilityTimeout: local.VisibilityFactor * awsComputeTimeout,
		MaxReceiveCount:   awsMaxReceiveCount,
		Patience:          15 * time.Minute,
		TeardownReserve:   awsTeardownReserve,
		Terraform:         a.tf,
	}
	saveRun(t, run, d)
	if d.Account != a.account || d.Resources.Region != a.region || d.Resources.Workspace != ws {
		t.Fatalf("deployed to account %s, region %s, workspace %s; want %s, %s, %s",
			d.Account, d.Resources.Region, d.Resources.Workspace, a.account, a.region, ws)
	}
	logger.Default.Logf(t, "deployed: %s", fmt.Sprintf("%+v", d.Resources))
	return d
}

func (a *awsTarget) connect(t *testing.T, d Deployment) (Deployment, aws.Config) {
	if d.Account != a.account {
		t.Fatalf("the deployment is in account %s, the credentials are for %s", d.Account, a.account)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: d.Resources.Region})
	if err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

func (a *awsTarget) teardown(t *testing.T, d *Deployment) error {
	tf := a.tf
	if tf == nil && d != nil {
		tf = d.Terraform
	}
	if tf == nil {
		logger.Default.Logf(t, "nothing was deployed: nothing to destroy")
		return nil
	}
	// Terraform reads the zips (source_code_hash) even to destroy.
	root := localtest.RepoRoot(t)
	build, _ := tf.Vars["artifacts_dir"].(string)
	if build == "" {
		build = filepath.Join(root, "build")
	}
	for _, zip := range []string{"splitter.zip", "compute.zip"} {
		if _, err := os.Stat(filepath.Join(build, zip)); err != nil {
			runMake(t, root, "build", "BUILD="+build)
			break
		}
	}
	opts := tf.options()
	by := fmt.Sprintf("by hand: terraform -chdir=%s workspace select %s && terraform -chdir=%s destroy", tf.Dir, tf.Workspace, tf.Dir)
	if _, err := terraform.WorkspaceSelectOrNewE(t, opts, tf.Workspace); err != nil {
		return fmt.Errorf("selecting workspace %s in %s: %w (destroy it %s)", tf.Workspace, tf.Dir, err, by)
	}
	if _, err := terraform.DestroyE(t, opts); err != nil {
		return fmt.Errorf("destroying workspace %s: %w (the state stays in %s: retry, or destroy it %s)", tf.Workspace, err, tf.Dir, by)
	}
	if _, err := terraform.WorkspaceDeleteE(t, opts, tf.Workspace); err != nil {
		return fmt.Errorf("deleting the destroyed workspace %s: %w", tf.Workspace, err)
	}
	logger.Default.Logf(t, "destroyed workspace %s in account %s", tf.Workspace, a.account)
	// A run's folder holds the state copy, the build and the record.
	if run := filepath.Dir(tf.Dir); isRunFolder(run) {
		return os.RemoveAll(run)
	}
	return os.RemoveAll(tf.Dir)
}

// isRunFolder reports whether dir is a folder of runsDir (and not, for a
// record of an older layout, the system's temporary folder).
func isRunFolder(dir string) bool {
	runs, err := filepath.Abs(runsDir())
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(runs, dir)
	return err == nil && rel != "." && !strings.Contains(rel, string(filepath.Separator)) && !strings.HasPrefix(rel, "..")
}

// saveRun writes a run's record into its folder.
func saveRun(t *testing.T, run string, d Deployment) {
	t.Helper()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "deployment.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
