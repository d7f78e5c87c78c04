// Package offline runs the pinned Terraform against terraform/ with no
// network: it installs memo's schema-only stand-in for hashicorp/aws
// (tools/tfprovider, its own Go module) into a filesystem mirror, writes a
// CLI configuration that installs providers from that mirror only, and
// runs init, validate, plan and show -json in throw-away copies of
// terraform/, so that no .terraform folder, lock file or state lands in the
// repository.
//
// Everything it makes lives under the git-ignored .cache/tf-offline/:
//
//	cdktf-provider-aws-<v>.tgz  the npm package the schema comes from
//	schema-<v>-<hash>.json      the extracted schema (hash: the extractor's source)
//	mirror/registry.terraform.io/hashicorp/aws/<aws version>/<os>_<arch>/
//	terraformrc                 the CLI configuration (TF_CLI_CONFIG_FILE)
//
// The user's own CLI configuration, credentials and TF_* variables are
// never read: every command runs with a clean Terraform environment.
package offline

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
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
)

// Env is a ready offline installation.
type Env struct {
	Repo      string // repository root
	Terraform string // the pinned terraform binary
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
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extract the schema: %v\n%s", err, out)
	} else {
		fmt.Fprintf(e.Log, "tf-offline: %s", out)
	}
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
// no-op when nothing changed) and writes the CLI configuration.
func (e *Env) mirror() error {
	platform := runtime.GOOS + "_" + runtime.GOARCH
	dir := filepath.Join(e.Cache, "mirror", ProviderSrc, AWSVersion, platform)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "terraform-provider-aws_v"+AWSVersion), ".")
	cmd.Dir = e.providerModule()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build tools/tfprovider: %v\n%s", err, out)
	}
	e.CLIConfig = filepath.Join(e.Cache, "terraformrc")
	cfg := fmt.Sprintf(`# Written by tools/tfcheck/offline: install hashicorp/aws from memo's
# offline mirror (the schema-only stand-in), and nothing from the network.
provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
}
`, filepath.Join(e.Cache, "mirror"), ProviderSrc)
	return os.WriteFile(e.CLIConfig, []byte(cfg), 0o644)
}

// environ is the environment of every terraform command: the caller's,
// without any TF_* variable, plus the offline configuration.
func (e *Env) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CHECKPOINT_") {
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

// Workdir is one throw-away copy of terraform/.
type Workdir struct {
	env    *Env
	Root   string // the copy's root: Root/terraform is the configuration
	schema string // the schema its provider serves, when not the full one
}

// Dir is the configuration folder of the copy.
func (w *Workdir) Dir() string { return filepath.Join(w.Root, "terraform") }

// Copy copies files (paths relative to terraform/, as the policy tests read
// them) into a new temporary folder under parent, with placeholder Lambda
// zips at ../build/ where the root module looks for them: a plan reads the
// zips' hashes (source_code_hash), not their contents, so the check does
// not need make build.
func (e *Env) Copy(parent string, files map[string][]byte) (*Workdir, error) {
	root, err := os.MkdirTemp(parent, "tf-")
	if err != nil {
		return nil, err
	}
	w := &Workdir{env: e, Root: root}
	for name, b := range files {
		dst := filepath.Join(w.Dir(), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "build"), 0o755); err != nil {
		return nil, err
	}
	for _, fn := range []string{"splitter", "compute"} {
		if err := os.WriteFile(filepath.Join(root, "build", fn+".zip"), []byte("placeholder for "+fn+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// ReadTerraform reads the configuration files under dir (as Copy takes
// them): every file but .terraform/, state and lock files.
func ReadTerraform(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".terraform" || d.Name() == "terraform.tfstate.d" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Contains(d.Name(), ".tfstate") || d.Name() == ".terraform.lock.hcl" || d.Name() == "backend.tf" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

var reType = regexp.MustCompile(`(?m)^(resource|data)\s+"([a-z0-9_]+)"`)

// Trim makes w's provider serve only the resource and data source types
// its .tf files declare (a plan then takes about a third of the time; the
// full schema has some 2,200 types). Terraform asks a provider only about
// the types a configuration uses, so the outcome is the same.
func (w *Workdir) Trim(files map[string][]byte) error {
	want := map[string]bool{}
	for name, b := range files {
		if strings.HasSuffix(name, ".tf") {
			for _, m := range reType.FindAllStringSubmatch(string(b), -1) {
				want[m[1]+"."+m[2]] = true
			}
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.Sum256([]byte(filepath.Base(w.env.Schema) + "\n" + strings.Join(keys, "\n")))
	path := filepath.Join(w.env.Cache, "trimmed", hex.EncodeToString(h[:])[:16]+".json")
	w.schema = path
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	full, err := w.env.fullSchema()
	if err != nil {
		return err
	}
	var doc struct {
		Version     string                     `json:"version"`
		Provider    json.RawMessage            `json:"provider"`
		Resources   map[string]json.RawMessage `json:"resources"`
		DataSources map[string]json.RawMessage `json:"data_sources"`
	}
	if err := json.Unmarshal(full, &doc); err != nil {
		return err
	}
	for k := range doc.Resources {
		if !want["resource."+k] {
			delete(doc.Resources, k)
		}
	}
	for k := range doc.DataSources {
		if !want["data."+k] {
			delete(doc.DataSources, k)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// fullSchema reads the full schema once.
func (e *Env) fullSchema() ([]byte, error) {
	e.fullOnce.Do(func() { e.full, e.fullErr = os.ReadFile(e.Schema) })
	return e.full, e.fullErr
}

// Run runs terraform with args in the copy and returns its output
// (stdout and stderr together) and whether it succeeded.
func (w *Workdir) Run(args ...string) (string, error) {
	return w.run(nil, args...)
}

func (w *Workdir) run(extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command(w.env.Terraform, append([]string{"-chdir=" + w.Dir()}, args...)...)
	if w.schema != "" {
		extraEnv = append(extraEnv, "MEMO_TFPROVIDER_SCHEMA="+w.schema)
	}
	cmd.Env = w.env.environ(extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("terraform %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// Init runs terraform init -backend=false.
func (w *Workdir) Init() (string, error) {
	return w.Run("init", "-backend=false", "-input=false", "-no-color")
}

// ShareInit gives w the providers and modules other has installed (its
// .terraform and lock file), instead of running init again: the copies
// differ in their .tf files only, and modules are local.
func (w *Workdir) ShareInit(other *Workdir) error {
	if err := copyTree(filepath.Join(other.Dir(), ".terraform"), filepath.Join(w.Dir(), ".terraform")); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(other.Dir(), ".terraform.lock.hcl"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.Dir(), ".terraform.lock.hcl"), b, 0o644)
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		default:
			// Provider executables are large: hard links where possible.
			if os.Link(p, target) == nil {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
	})
}

// Plan is one planned workspace: a workspace name and variable files
// (paths relative to the copy's terraform/, or absolute).
type Plan struct {
	Name      string // for messages: "default", "env/dev.tfvars" ...
	Workspace string
	VarFiles  []string
	Vars      []string // -var arguments: "name=value"
}

// Plan runs terraform plan for p in the copy (creating the workspace) and
// returns the plan's human summary line and its JSON (terraform show
// -json).
func (w *Workdir) Plan(p Plan) (summary string, planJSON []byte, err error) {
	var env []string
	if p.Workspace != "" && p.Workspace != "default" {
		// The local backend keeps workspace ws in terraform.tfstate.d/ws;
		// TF_WORKSPACE selects it for this command only, so copies can
		// plan several workspaces side by side.
		if err := os.MkdirAll(filepath.Join(w.Dir(), "terraform.tfstate.d", p.Workspace), 0o755); err != nil {
			return "", nil, err
		}
		env = append(env, "TF_WORKSPACE="+p.Workspace)
	}
	out := "plan-" + strings.NewReplacer("/", "_", ".", "_").Replace(p.Name) + ".bin"
	args := []string{"plan", "-input=false", "-no-color", "-lock=false", "-out=" + out}
	for _, f := range p.VarFiles {
		args = append(args, "-var-file="+f)
	}
	for _, v := range p.Vars {
		args = append(args, "-var", v)
	}
	text, err := w.run(env, args...)
	if err != nil {
		return "", nil, err
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "Plan: ") || strings.HasPrefix(line, "No changes.") {
			summary = line
		}
	}
	js, err := w.run(env, "show", "-json", out)
	if err != nil {
		return summary, nil, err
	}
	if !json.Valid([]byte(js)) {
		return summary, nil, fmt.Errorf("terraform show -json %s: not JSON", out)
	}
	return summary, []byte(js), nil
}

// Remove deletes the copy.
func (w *Workdir) Remove() error { return os.RemoveAll(w.Root) }

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
