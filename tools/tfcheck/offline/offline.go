// Package offline runs a pinned Terraform or OpenTofu against terraform/
// with no network: it installs memo's schema-only stand-in for
// hashicorp/aws (tools/tfprovider, its own Go module) into a filesystem
// mirror, writes a CLI configuration that installs providers from that
// mirror only, and runs init, validate, plan and show -json in throw-away
// copies of terraform/, so that no .terraform folder, lock file or state
// lands in the repository.
//
// Everything it makes lives under the git-ignored .cache/tf-offline/:
//
//	cdktf-provider-aws-<v>.tgz  the npm package the schema comes from
//	schema-<v>-<hash>.json      the extracted schema (hash: the extractor's source)
//	mirror/registry.terraform.io/hashicorp/aws/<aws version>/<os>_<arch>/
//	mirror/registry.opentofu.org/hashicorp/aws/...  the same, for OpenTofu
//	terraformrc                 the CLI configuration (TF_CLI_CONFIG_FILE)
//
// The user's own CLI configuration, credentials and TF_*, TOFU_* variables
// are never read: every command runs with a clean environment.
package offline

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The npm package the schema comes from, and the provider release it was
// generated from (its package.json: cdktf.provider.version).
const (
	NPMPackage  = "@cdktf/provider-aws"
	NPMVersion  = "21.22.1"
	AWSVersion  = "6.25.0"
	ProviderSrc = "registry.terraform.io/hashicorp/aws"
	// OpenTofu resolves the configuration's source = "hashicorp/aws" on
	// its own registry: the mirror serves the stand-in under both names.
	ProviderSrcOpenTofu = "registry.opentofu.org/hashicorp/aws"
)

// Env is a ready offline installation.
type Env struct {
	Repo      string // repository root
	Terraform string // the pinned terraform (or tofu) binary
	Cache     string // .cache/tf-offline
	Schema    string // the extracted schema file
	CLIConfig string // the CLI configuration file
	Log       io.Writer

	fullOnce sync.Once
	full     []byte
	fullErr  error
}

// Setup prepares the cache (downloading the npm package and extracting
// the schema the first time) and builds the provider into the mirror. repo
// is the repository root; terraform the binary to use (bin/terraform when
// empty).
func Setup(repo, terraform string, log io.Writer) (*Env, error) {
	if log == nil {
		log = io.Discard
	}
	repo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	if terraform == "" {
		terraform = filepath.Join(repo, "bin", "terraform")
	}
	if _, err := os.Stat(terraform); err != nil {
		return nil, fmt.Errorf("no terraform at %s: run make tools (installs v1.5.7)", terraform)
	}
	e := &Env{Repo: repo, Terraform: terraform, Cache: filepath.Join(repo, ".cache", "tf-offline"), Log: log}
	if err := os.MkdirAll(e.Cache, 0o755); err != nil {
		return nil, err
	}
	if err := e.schema(); err != nil {
		return nil, err
	}
	if err := e.mirror(); err != nil {
		return nil, err
	}
	return e, nil
}

// For returns an environment that runs cli (another Terraform or an
// OpenTofu binary) with e's cache, schema, mirror and CLI configuration.
func (e *Env) For(cli string) *Env {
	return &Env{Repo: e.Repo, Terraform: cli, Cache: e.Cache, Schema: e.Schema, CLIConfig: e.CLIConfig, Log: e.Log}
}

// Version is the first line of the CLI's version command: "Terraform
// v1.5.7", "OpenTofu v1.10.6".
func (e *Env) Version() (string, error) {
	cmd := exec.Command(e.Terraform, "version")
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s version: %v\n%s", e.Terraform, err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

func (e *Env) providerModule() string { return filepath.Join(e.Repo, "tools", "tfprovider") }

// schema makes sure the extracted schema is cached. Its name carries a
// hash of the extractor's source, so a changed extractor re-extracts.
func (e *Env) schema() error {
	h := sha256.New()
	for _, f := range []string{"schema/extract.go", "schema/schema.go"} {
		b, err := os.ReadFile(filepath.Join(e.providerModule(), f))
		if err != nil {
			return err
		}
		h.Write(b)
	}
	e.Schema = filepath.Join(e.Cache, fmt.Sprintf("schema-%s-%s.json", NPMVersion, hex.EncodeToString(h.Sum(nil))[:12]))
	if _, err := os.Stat(e.Schema); err == nil {
		return nil
	}
	start := time.Now()
	tgz := filepath.Join(e.Cache, "cdktf-provider-aws-"+NPMVersion+".tgz")
	if _, err := os.Stat(tgz); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			return fmt.Errorf("the AWS provider's schema is not cached yet and downloading it needs npm (npm pack %s@%s): %w", NPMPackage, NPMVersion, err)
		}
		fmt.Fprintf(e.Log, "tf-offline: npm pack %s@%s (once, ~37 MB)\n", NPMPackage, NPMVersion)
		cmd := exec.Command("npm", "pack", "--silent", "--pack-destination", e.Cache, NPMPackage+"@"+NPMVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm pack %s@%s: %v\n%s", NPMPackage, NPMVersion, err, out)
		}
	}
	unpacked := filepath.Join(e.Cache, "package-"+NPMVersion)
	defer os.RemoveAll(unpacked)
	if err := untar(tgz, unpacked); err != nil {
		return fmt.Errorf("unpack %s: %w", tgz, err)
	}
	fmt.Fprintf(e.Log, "tf-offline: extracting the hashicorp/aws %s schema (once)\n", AWSVersion)
	cmd := exec.Command("go", "run", "./cmd/extractschema", "-pkg", filepath.Join(unpacked, "package"), "-o", e.Schema)
	cmd.Dir = e.providerModule()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("extract the schema: %v\n%s", err, out)
	}
	fmt.Fprintf(e.Log, "tf-offline: %s", out)
	fmt.Fprintf(e.Log, "tf-offline: schema ready in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// untar unpacks the npm tarball's package.json and lib/ into dir.
func untar(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(name, "..") || filepath.IsAbs(name) ||
			!(name == "package/package.json" || strings.HasPrefix(name, "package/lib/")) {
			continue
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// mirror builds the provider into the filesystem mirror (go build is a
// no-op when nothing changed), under Terraform's and OpenTofu's registry
// names, and writes the CLI configuration (both read TF_CLI_CONFIG_FILE).
func (e *Env) mirror() error {
	platform := runtime.GOOS + "_" + runtime.GOARCH
	exe := "terraform-provider-aws_v" + AWSVersion
	var dirs []string
	for _, src := range []string{ProviderSrc, ProviderSrcOpenTofu} {
		dir := filepath.Join(e.Cache, "mirror", src, AWSVersion, platform)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		dirs = append(dirs, dir)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dirs[0], exe), ".")
	cmd.Dir = e.providerModule()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build tools/tfprovider: %v\n%s", err, out)
	}
	for _, dir := range dirs[1:] {
		if err := copyFile(filepath.Join(dirs[0], exe), filepath.Join(dir, exe)); err != nil {
			return err
		}
	}
	e.CLIConfig = filepath.Join(e.Cache, "terraformrc")
	cfg := fmt.Sprintf(`# Written by tools/tfcheck/offline: install hashicorp/aws from memo's
# offline mirror (the schema-only stand-in), and nothing from the network.
provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q, %q]
  }
}
`, filepath.Join(e.Cache, "mirror"), ProviderSrc, ProviderSrcOpenTofu)
	return os.WriteFile(e.CLIConfig, []byte(cfg), 0o644)
}

// copyFile replaces dst with a copy of the executable src, through a
// temporary name: a tf-check or policy test running elsewhere may be
// executing the old one.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", dst, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// environ is the environment of every terraform command: the caller's,
// without any TF_*, TOFU_*, AWS_* or CHECKPOINT_* variable, plus the
// offline configuration.
func (e *Env) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "TOFU_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CHECKPOINT_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"TF_CLI_CONFIG_FILE="+e.CLIConfig,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
		"MEMO_TFPROVIDER_SCHEMA="+e.Schema,
	)
	// Later entries win (os/exec keeps the last of duplicate keys).
	return append(env, extra...)
}

// Plan is one planned workspace: a workspace name and variable files
// (paths relative to the copy's terraform/, or absolute).
type Plan struct {
	Name      string // for messages: "default", "env/dev.tfvars" ...
	Workspace string
	VarFiles  []string
	Vars      []string // -var arguments: "name=value"
}

// Plans are the workspaces make tf-check plans: the default workspace
// with the defaults, dev and prod with their env/ files, and every
// optional resource switched on (the variables tfsec also scans with).
func Plans(e *Env) []Plan {
	return []Plan{
		{Name: "default", Workspace: "default"},
		{Name: "env/dev.tfvars", Workspace: "dev", VarFiles: []string{"env/dev.tfvars"}},
		{Name: "env/prod.tfvars", Workspace: "prod", VarFiles: []string{"env/prod.tfvars"}},
		{Name: "features-on.tfvars", Workspace: "features", VarFiles: []string{filepath.Join(e.Repo, "test", "policy", "testdata", "features-on.tfvars")}},
	}
}
