package policy

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// terraformDir is the repository's terraform/ folder, relative to this
// package.
const terraformDir = "../../terraform"

// Paths of the two modules inside terraform/.
const (
	rootDir     = "."
	pipelineDir = "modules/pipeline"
)

// Values the evaluator uses for what only AWS knows.
const (
	testAccount   = "123456789012"
	testRegion    = "eu-west-1"
	testWorkspace = "policyws"
)

// Config is terraform/ parsed: its files by slash path relative to
// terraform/, and the two modules.
type Config struct {
	Files    map[string][]byte
	Root     *Module
	Pipeline *Module
}

// Module is one Terraform module: its .tf files parsed with hclsyntax.
type Module struct {
	Dir   string
	Files map[string]*hclsyntax.Body // by file name
	cfg   *Config
}

// readTerraform reads every file under terraform/ except the .terraform
// folder and local state.
func readTerraform(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(terraformDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Contains(d.Name(), ".tfstate") || d.Name() == ".terraform.lock.hcl" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(terraformDir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", terraformDir, err)
	}
	return files
}

// parseConfig parses files (as read by readTerraform, possibly mutated).
func parseConfig(files map[string][]byte) (*Config, error) {
	c := &Config{Files: files}
	var err error
	if c.Root, err = c.parseModule(rootDir); err != nil {
		return nil, err
	}
	if c.Pipeline, err = c.parseModule(pipelineDir); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) parseModule(dir string) (*Module, error) {
	m := &Module{Dir: dir, Files: map[string]*hclsyntax.Body{}, cfg: c}
	for name, src := range c.Files {
		if path.Dir(name) != dir || !strings.HasSuffix(name, ".tf") {
			continue
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %s", name, diags.Error())
		}
		m.Files[path.Base(name)] = f.Body.(*hclsyntax.Body)
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("no .tf files in terraform/%s", dir)
	}
	return m, nil
}

// mustConfig reads and parses the real terraform/.
func mustConfig(t *testing.T) *Config {
	t.Helper()
	c, err := parseConfig(readTerraform(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fileNames returns the module's file names in order, for stable output.
func (m *Module) fileNames() []string {
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Blocks returns the top-level blocks of type typ whose labels start with
// labels.
func (m *Module) Blocks(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, n := range m.fileNames() {
		for _, b := range m.Files[n].Blocks {
			if b.Type != typ || len(b.Labels) < len(labels) {
				continue
			}
			match := true
			for i, l := range labels {
				if b.Labels[i] != l {
					match = false
				}
			}
			if match {
				out = append(out, b)
			}
		}
	}
	return out
}

// Resource returns resource "typ" "name", or nil.
func (m *Module) Resource(typ, name string) *hclsyntax.Block {
	if bs := m.Blocks("resource", typ, name); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// Data returns data "typ" "name", or nil.
func (m *Module) Data(typ, name string) *hclsyntax.Block {
	if bs := m.Blocks("data", typ, name); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// Variables returns the variable blocks by name.
func (m *Module) Variables() map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, b := range m.Blocks("variable") {
		out[b.Labels[0]] = b
	}
	return out
}

// Locals returns the local values' expressions by name.
func (m *Module) Locals() map[string]hclsyntax.Expression {
	out := map[string]hclsyntax.Expression{}
	for _, b := range m.Blocks("locals") {
		for n, a := range b.Body.Attributes {
			out[n] = a.Expr
		}
	}
	return out
}

// Outputs returns the output blocks by name.
func (m *Module) Outputs() map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, b := range m.Blocks("output") {
		out[b.Labels[0]] = b
	}
	return out
}

// attr returns the expression of attribute name in b, or nil.
func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// nested returns the nested blocks of type typ in b (not dynamic ones).
func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	if b == nil {
		return nil
	}
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// dynamics returns the dynamic "typ" blocks in b.
func dynamics(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	if b == nil {
		return nil
	}
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == "dynamic" && len(c.Labels) == 1 && c.Labels[0] == typ {
			out = append(out, c)
		}
	}
	return out
}

// refs returns the references an expression makes, as dotted strings
// ("var.x", "aws_sqs_queue.ops.arn", "local.names.queue").
func refs(e hclsyntax.Expression) []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, tr := range e.Variables() {
		out = append(out, traversalString(tr))
	}
	return out
}

func traversalString(tr hcl.Traversal) string {
	var sb strings.Builder
	for i, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			sb.WriteString(s.Name)
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			sb.WriteString("[" + valueString(s.Key) + "]")
		default:
			if i > 0 {
				sb.WriteString("[*]")
			}
		}
	}
	return sb.String()
}

// refersTo reports whether e makes a reference starting with prefix (a
// whole dotted prefix: "local.prefix" matches "local.prefix" and
// "local.prefix.x", not "local.prefixes").
func refersTo(e hclsyntax.Expression, prefix string) bool {
	for _, r := range refs(e) {
		if r == prefix || strings.HasPrefix(r, prefix+".") || strings.HasPrefix(r, prefix+"[") {
			return true
		}
	}
	return false
}

// text returns the source text of e with runs of blanks collapsed.
func (m *Module) text(e hclsyntax.Expression) string {
	if e == nil {
		return ""
	}
	r := e.Range()
	src := m.cfg.Files[path.Join(m.Dir, path.Base(r.Filename))]
	if src == nil {
		src = m.cfg.Files[r.Filename]
	}
	if src == nil || r.End.Byte > len(src) {
		return ""
	}
	return strings.Join(strings.Fields(string(src[r.Start.Byte:r.End.Byte])), " ")
}

// where names the place of a block for messages: "queues.tf:4".
func where(b *hclsyntax.Block) string {
	r := b.DefRange()
	return fmt.Sprintf("%s:%d", path.Base(r.Filename), r.Start.Line)
}

// valueString renders a cty value for messages.
func valueString(v cty.Value) string {
	if !v.IsKnown() {
		return "(unknown)"
	}
	if v.IsNull() {
		return "null"
	}
	switch {
	case v.Type() == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	case v.CanIterateElements():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if v.Type().IsObjectType() || v.Type().IsMapType() {
				parts = append(parts, k.AsString()+"="+valueString(e))
			} else {
				parts = append(parts, valueString(e))
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return v.GoString()
}

// variableDefault returns a variable's default converted to its type, or
// (NilVal, false) when it has none.
func variableDefault(b *hclsyntax.Block) (cty.Value, bool, error) {
	d := attr(b, "default")
	if d == nil {
		return cty.NilVal, false, nil
	}
	v, diags := d.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, true, fmt.Errorf("variable %q default: %s", b.Labels[0], diags.Error())
	}
	if te := attr(b, "type"); te != nil {
		ty, diags := typeexpr.TypeConstraint(te)
		if diags.HasErrors() {
			return cty.NilVal, true, fmt.Errorf("variable %q type: %s", b.Labels[0], diags.Error())
		}
		if v.IsNull() {
			return cty.NullVal(ty), true, nil
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			return cty.NilVal, true, fmt.Errorf("variable %q default does not fit its type: %v", b.Labels[0], err)
		}
		return cv, true, nil
	}
	return v, true, nil
}
