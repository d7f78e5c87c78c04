package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gruntwork-io/terratest/modules/logger"

	"github.com/memohq/memo/internal/ops/workspace"
)

// Deployment is what the deploy stage yields, the same on both targets: the
// pipeline's names and URLs, and the redrive timing the DLQ check needs.
// Validate uses nothing else (and an aws.Config).
type Deployment struct {
	Target string `json:"target"`
	// Resources: workspace, region, endpoint (the twin's moto), bucket,
	// results and batches tables, ops queue and DLQ URLs.
	Resources        workspace.Resources `json:"resources"`
	Account          string              `json:"account"`
	SplitterFunction string              `json:"splitter_function"`
	ComputeFunction  string              `json:"compute_function"`
	// VisibilityTimeout and MaxReceiveCount of the ops queue: a message
	// that always fails reaches the DLQ after about MaxReceiveCount
	// visibility timeouts.
	VisibilityTimeout time.Duration `json:"visibility_timeout"`
	MaxReceiveCount   int           `json:"max_receive_count"`
	// Patience bounds each wait of the validate stage.
	Patience time.Duration `json:"patience"`
	// TeardownReserve is the time left for the teardown when the validate
	// stage ends early for the test's deadline (-timeout).
	TeardownReserve time.Duration `json:"teardown_reserve"`

	// What the teardown of a later run needs (see SKIP_<stage>).
	Twin      *TwinState      `json:"twin,omitempty"`
	Terraform *TerraformState `json:"terraform,omitempty"`
	// Documented is set for a run of the documented path (make deploy and
	// make destroy in the checkout; documented_test.go).
	Documented *DocumentedState `json:"documented,omitempty"`
}

// target is one place the pipeline runs.
type target interface {
	// preflight checks what the target needs, and skips the test when it is
	// missing; it runs before anything is built or deployed.
	preflight(t *testing.T)
	// deploy builds the artifacts and brings the pipeline up.
	deploy(t *testing.T) Deployment
	// connect returns the deployment as this process reaches it, and the
	// SDK configuration to reach it with (re-attaching to one that an
	// earlier run left up).
	connect(t *testing.T, d Deployment) (Deployment, aws.Config)
	// teardown removes everything deploy created (d is nil when this run
	// did not deploy and nothing was saved), and says what it could not.
	teardown(t *testing.T, d *Deployment) error
}

// TestEndToEnd deploys memo, runs the validation against it and tears it
// down, on the local twin (default) or on AWS (MEMO_E2E_TARGET=aws). Each
// stage can be skipped with SKIP_<stage>=1 (deploy, validate, teardown);
// when any is set, the deployment is saved to .test-data/ so that later
// runs can validate or tear down what an earlier one deployed.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (-short)")
	}
	name := os.Getenv("MEMO_E2E_TARGET")
	if name == "" {
		name = "twin"
	}
	var tg target
	switch name {
	case "twin":
		tg = &twinTarget{}
	case "aws":
		tg = &awsTarget{}
	default:
		t.Fatalf("MEMO_E2E_TARGET=%q: want twin (the default) or aws", name)
	}
	logger.Default.Logf(t, "memo end to end on target %q: stages deploy, validate, teardown (%s)", name, stagePlan())
	tg.preflight(t)

	var dep *Deployment
	saved := false // dep is (also) in the deployment file
	defer stage(t, "teardown", func() {
		if dep == nil {
			dep = loadDeployment(t, name, false)
			saved = dep != nil
		}
		if err := tg.teardown(t, dep); err != nil {
			t.Errorf("teardown: %v", err)
			if saved {
				t.Logf("%s is kept: run the teardown again with SKIP_deploy=1 SKIP_validate=1", deploymentFile())
			}
			return
		}
		if saved {
			// Only this deployment's record: runs/ may hold other runs'.
			if err := os.Remove(deploymentFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("removing %s: %v", deploymentFile(), err)
			}
		}
	})
	stage(t, "deploy", func() {
		d := tg.deploy(t)
		dep = &d
		if stagesSplit() {
			saveDeployment(t, d)
			saved = true
		}
	})
	stage(t, "validate", func() {
		if dep == nil {
			dep = loadDeployment(t, name, true)
			saved = true
		}
		d, cfg := tg.connect(t, *dep)
		validate(t, d, cfg)
	})
}

// stage runs fn unless SKIP_<name> is set. It keeps the contract of
// terratest's test_structure.RunTestStage; that package is not used because
// it imports terratest's aws, k8s and packer modules (k8s client-go and
// dozens of AWS SDK services), which add minutes to a cold build of this
// test for a ten-line function.
func stage(t *testing.T, name string, fn func()) {
	t.Helper()
	env := "SKIP_" + name
	if os.Getenv(env) != "" {
		logger.Default.Logf(t, "%s is set: skipping stage %q", env, name)
		return
	}
	logger.Default.Logf(t, "stage %q (set %s=1 to skip it)", name, env)
	start := time.Now()
	defer func() { logger.Default.Logf(t, "stage %q took %v", name, time.Since(start).Round(time.Millisecond)) }()
	fn()
}

var stageNames = []string{"deploy", "validate", "teardown"}

func stagePlan() string {
	var parts []string
	for _, s := range stageNames {
		if os.Getenv("SKIP_"+s) != "" {
			parts = append(parts, s+" skipped")
		} else {
			parts = append(parts, s+" runs")
		}
	}
	return strings.Join(parts, ", ")
}

// stagesSplit reports whether the stages are spread over several runs.
func stagesSplit() bool {
	for _, s := range stageNames {
		if os.Getenv("SKIP_"+s) != "" {
			return true
		}
	}
	return false
}

// testDataDir holds the deployment between runs (git-ignored).
const testDataDir = ".test-data"

func deploymentFile() string { return filepath.Join(testDataDir, "deployment.json") }

func saveDeployment(t *testing.T, d Deployment) {
	t.Helper()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(testDataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deploymentFile(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(deploymentFile())
	logger.Default.Logf(t, "deployment saved to %s for later stages", abs)
}

// loadDeployment reads the deployment an earlier run saved; nil if there is
// none (a failure if required).
func loadDeployment(t *testing.T, target string, required bool) *Deployment {
	t.Helper()
	b, err := os.ReadFile(deploymentFile())
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			t.Fatalf("SKIP_deploy is set but %s holds no deployment: run once with SKIP_teardown=1 (and SKIP_validate=1) to deploy and keep it", deploymentFile())
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", deploymentFile(), err)
	}
	if d.Target != target {
		t.Fatalf("%s holds a %s deployment, not a %s one: tear it down with MEMO_E2E_TARGET=%s SKIP_deploy=1 SKIP_validate=1", deploymentFile(), d.Target, target, d.Target)
	}
	logger.Default.Logf(t, "using the %s deployment saved in %s (workspace %s)", d.Target, deploymentFile(), d.Resources.Workspace)
	return &d
}

// runMake builds targets with the project's Makefile, so that the tested
// artifacts come from the same rules as the deployed ones.
func runMake(t *testing.T, root string, targets ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-C", root, "--no-print-directory"}, targets...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(targets, " "), err, out)
	}
	logger.Default.Logf(t, "make %s: %v", strings.Join(targets, " "), time.Since(start).Round(time.Millisecond))
}
