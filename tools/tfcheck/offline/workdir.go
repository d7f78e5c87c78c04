package offline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

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
		err = fmt.Errorf("%s %s: %v\n%s", filepath.Base(w.env.Terraform), strings.Join(args, " "), err, out.String())
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
