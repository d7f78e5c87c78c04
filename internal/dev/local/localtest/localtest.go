// Package localtest helps tests run against the local twin.
package localtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
)

// RequireMoto skips the test when moto_server is not installed, unless CI
// is set: in CI a missing emulator is a failure, never a silent skip.
func RequireMoto(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but moto_server is not on PATH: %v", local.ErrNoMoto)
		}
		t.Skip("moto_server not on PATH (pip install \"moto[server]\"); integration test skipped")
	}
}

// StartTwin starts a twin for the test and stops it when the test ends.
func StartTwin(t testing.TB, o local.Options) *local.Twin {
	t.Helper()
	RequireMoto(t)
	// The twin's timing is AWS's scaled down (status.CountLag).
	status.CountLag, status.FailedSettleAfter = status.TwinCountLag, status.TwinFailedSettleAfter
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	twin, err := local.Start(ctx, o)
	if err != nil {
		t.Fatalf("starting the twin: %v", err)
	}
	t.Cleanup(twin.Stop)
	return twin
}

// Provisioned starts a bare moto (no twin: no functions, no plumbing),
// provisions the workspace's resources in it as the twin does (twice, to
// prove Provision idempotent), and returns the SDK configuration and the
// resources. Adapter integration tests use it.
func Provisioned(t testing.TB, ws string) (aws.Config, workspace.Resources) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	RequireMoto(t)
	ctx := context.Background()
	m, err := local.StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: m.URL, Region: "us-east-1", StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.Provision(ctx, cfg, local.Settings{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Provision(ctx, cfg, local.Settings{Workspace: ws}); err != nil {
		t.Fatalf("Provision is not idempotent: %v", err)
	}
	return cfg, p.Resources
}

// RepoRoot is the module's root: the nearest folder holding go.mod, from the
// test's working directory (go test runs in the package's folder) upwards.
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root not found: no go.mod above the test's folder")
		}
		dir = parent
	}
}
