package policy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the input and output tables of the READMEs under terraform/")

// The tables live between these markers in terraform/README.md and
// terraform/modules/pipeline/README.md.
const (
	beginInputs  = "<!-- BEGIN INPUTS (generated: go test ./test/policy -run TestReadme -update) -->"
	endInputs    = "<!-- END INPUTS -->"
	beginOutputs = "<!-- BEGIN OUTPUTS (generated: go test ./test/policy -run TestReadme -update) -->"
	endOutputs   = "<!-- END OUTPUTS -->"
)

// readmes pairs each README with the module it documents.
func readmes(c *Config) map[string]*Module {
	return map[string]*Module{"README.md": c.Root, "modules/pipeline/README.md": c.Pipeline}
}

// cell makes s one table cell: one line, with | escaped and < escaped so
// that memo-<workspace>-<role> is not taken for an HTML tag.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", `\|`, "<", `\<`).Replace(s)
}

// inputsTable renders m's variables in declaration order.
func inputsTable(m *Module) string {
	var sb strings.Builder
	sb.WriteString("| Name | Type | Default | Unit | Description |\n|---|---|---|---|---|\n")
	for _, b := range m.Blocks("variable") {
		desc, _ := e2s(attr(b, "description"))
		def := "required"
		if d := attr(b, "default"); d != nil {
			def = "`" + m.text(d) + "`"
		}
		unit := "-"
		if m.text(attr(b, "type")) == "number" {
			if u := unitOf(desc); u != "" {
				unit = u
			}
		}
		fmt.Fprintf(&sb, "| `%s` | `%s` | %s | %s | %s |\n", b.Labels[0], cell(m.text(attr(b, "type"))), cell(def), unit, cell(desc))
	}
	return sb.String()
}

// outputsTable renders m's outputs in declaration order.
func outputsTable(m *Module) string {
	var sb strings.Builder
	sb.WriteString("| Name | Description |\n|---|---|\n")
	for _, b := range m.Blocks("output") {
		desc, _ := e2s(attr(b, "description"))
		fmt.Fprintf(&sb, "| `%s` | %s |\n", b.Labels[0], cell(desc))
	}
	return sb.String()
}

// between returns the text between begin and end in doc.
func between(doc, begin, end string) (string, bool) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", false
	}
	return strings.TrimPrefix(doc[i+len(begin):j], "\n"), true
}

// replaceBetween puts text between begin and end in doc.
func replaceBetween(doc, begin, end, text string) string {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return doc
	}
	return doc[:i+len(begin)] + "\n" + text + doc[j:]
}

func checkReadmeTables(c *Config) []string {
	var p problems
	for _, name := range sortedKeys(readmes(c)) {
		m := readmes(c)[name]
		doc, ok := c.Files[name]
		if !ok {
			p.add("terraform/%s is missing", name)
			continue
		}
		for _, tbl := range []struct{ what, begin, end, want string }{
			{"inputs", beginInputs, endInputs, inputsTable(m)},
			{"outputs", beginOutputs, endOutputs, outputsTable(m)},
		} {
			got, ok := between(string(doc), tbl.begin, tbl.end)
			if !ok {
				p.add("terraform/%s has no %s table between %q and %q", name, tbl.what, tbl.begin, tbl.end)
				continue
			}
			if got != tbl.want {
				p.add("terraform/%s: the %s table does not match terraform/%s (first difference: %s); run go test ./test/policy -run TestReadme -update", name, tbl.what, m.Dir, firstDiff(got, tbl.want))
			}
		}
	}
	return p
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, want %q", i+1, gl, wl)
		}
	}
	return "none"
}

// TestReadme checks the READMEs' tables, or rewrites them with -update.
func TestReadme(t *testing.T) {
	c := mustConfig(t)
	if *update {
		for name, m := range readmes(c) {
			doc := string(c.Files[name])
			doc = replaceBetween(doc, beginInputs, endInputs, inputsTable(m))
			doc = replaceBetween(doc, beginOutputs, endOutputs, outputsTable(m))
			if err := os.WriteFile(filepath.Join(terraformDir, filepath.FromSlash(name)), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c = mustConfig(t)
	}
	for _, msg := range checkReadmeTables(c) {
		t.Errorf("invariant readme-tables: %s", msg)
	}
}
