package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/ops/workspace"
)

// standInTerraform writes an executable that answers `output -json` (shell builtins only: the tests empty PATH) with
// the outputs of a dev workspace in eu-west-1, and records its directory.
func standInTerraform(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
[ "$1 $2" = "output -json" ] || { echo "stand-in: unexpected $*" >&2; exit 1; }
echo "$PWD" > "${0%/*}/called-in"
echo '{"bucket": {"value": "memo-dev-batches-123456789012"}, "table": {"value": "memo-dev-results"},'
echo ' "queue_url": {"value": "https://sqs.eu-west-1.amazonaws.com/123456789012/memo-dev-ops"},'
echo ' "region": {"value": "eu-west-1"}, "workspace": {"value": "dev"}}'
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A fresh checkout has Terraform only where make installs it, bin/terraform:
// --from-terraform terraform finds it there, and takes the region from the
// outputs.
func TestFromTerraformUsesTheRepositorysTerraform(t *testing.T) {
	root := t.TempDir()
	tfDir := filepath.Join(root, "terraform")
	if err := os.MkdirAll(tfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	standInTerraform(t, filepath.Join(root, "bin", "terraform"))
	t.Setenv("PATH", t.TempDir()) // no terraform on PATH
	t.Chdir(root)

	r, err := terraformOutputs(context.Background(), "terraform", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := workspace.Resources{Workspace: "dev", Region: "eu-west-1", Bucket: "memo-dev-batches-123456789012",
		Table: "memo-dev-results", QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/memo-dev-ops"}
	if r != want {
		t.Fatalf("outputs:\n got %+v\nwant %+v", r, want)
	}
	in, err := os.ReadFile(filepath.Join(root, "bin", "called-in"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(in)); got != tfDir {
		t.Errorf("terraform ran in %s, want %s", got, tfDir)
	}
}

// TF names the CLI (terraform or tofu, as in terraform.mk) ahead of PATH.
func TestFromTerraformHonoursTF(t *testing.T) {
	root := t.TempDir()
	tofu := filepath.Join(root, "elsewhere", "tofu")
	standInTerraform(t, tofu)
	t.Setenv("PATH", t.TempDir())
	got, err := terraformCLI(root, func(k string) string {
		if k == "TF" {
			return tofu
		}
		return ""
	})
	if err != nil || got != tofu {
		t.Fatalf("terraformCLI with TF=%s: %q, %v", tofu, got, err)
	}
}

// Without any CLI the error says where it looked and what to do.
func TestFromTerraformWithoutTerraformSaysWhatToDo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := terraformCLI(filepath.Join(t.TempDir(), "terraform"), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "make deploy installs bin/terraform") || !strings.Contains(err.Error(), filepath.Join("bin", "terraform")) {
		t.Fatalf("error: %v", err)
	}
}
