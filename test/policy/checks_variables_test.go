package policy

import (
	"path"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// twinDefaults are the local twin's defaults. The Terraform defaults must
// equal them, so that the twin behaves like a deployed pipeline.
var twinDefaults = map[string]float64{
	"compute_batch_size":              local.DefaultBatchSize,
	"compute_batching_window_seconds": local.DefaultBatchingWindow.Seconds(),
	"max_receive_count":               local.DefaultMaxReceiveCount,
	"compute_timeout_seconds":         local.DefaultComputeTimeout.Seconds(),
	"splitter_timeout_seconds":        local.DefaultSplitterTimeout.Seconds(),
	"split_chunk_ops":                 local.DefaultChunkOps,
	"split_pack_ops":                  local.DefaultPackOps,
	"splitter_send_concurrency":       local.DefaultSendConcurrency,
}

// twinStringDefaults are the twin's defaults that are words.
var twinStringDefaults = map[string]string{
	"split_op_rules": local.DefaultOpRules.String(),
}

func checkTwinDefaults(c *Config) []string {
	var p problems
	for _, m := range []*Module{c.Root, c.Pipeline} {
		vars := m.Variables()
		for _, name := range sortedKeys(twinDefaults) {
			b := vars[name]
			if b == nil {
				p.add("terraform/%s has no variable %s", m.Dir, name)
				continue
			}
			v, ok, err := variableDefault(b)
			if err != nil || !ok || v.IsNull() || v.Type() != cty.Number {
				p.add("terraform/%s variable %s needs a number default (%v)", m.Dir, name, err)
				continue
			}
			if f, _ := v.AsBigFloat().Float64(); f != twinDefaults[name] {
				p.add("terraform/%s variable %s defaults to %v, the local twin uses %v", m.Dir, name, f, twinDefaults[name])
			}
		}
		for _, name := range sortedKeys(twinStringDefaults) {
			b := vars[name]
			if b == nil {
				p.add("terraform/%s has no variable %s", m.Dir, name)
				continue
			}
			v, ok, err := variableDefault(b)
			if err != nil || !ok || v.IsNull() || v.Type() != cty.String {
				p.add("terraform/%s variable %s needs a string default (%v)", m.Dir, name, err)
				continue
			}
			if v.AsString() != twinStringDefaults[name] {
				p.add("terraform/%s variable %s defaults to %q, the local twin uses %q", m.Dir, name, v.AsString(), twinStringDefaults[name])
			}
		}
	}
	return p
}

func checkRootPassesThrough(c *Config) []string {
	var p problems
	mods := c.Root.Blocks("module", "pipeline")
	if len(mods) != 1 {
		p.add("the root module must call module \"pipeline\" once")
		return p
	}
	call := mods[0]
	if src, _ := e2s(attr(call, "source")); strings.TrimPrefix(src, "./") != pipelineDir {
		p.add("module pipeline has source %q, want ./%s", src, pipelineDir)
	}
	rootVars := c.Root.Variables()
	for name, mv := range c.Pipeline.Variables() {
		arg := attr(call, name)
		md, hasDefault, _ := variableDefault(mv)
		rv := rootVars[name]
		if rv == nil {
			if !hasDefault && arg == nil {
				p.add("module pipeline needs %s and the root module does not pass it", name)
			}
			continue
		}
		if arg == nil || !refersTo(arg, "var."+name) {
			p.add("the root module declares %s but does not pass var.%s to the module (passes %s)", name, name, c.Root.text(arg))
		}
		rd, _, err := variableDefault(rv)
		if err != nil {
			p.add("%v", err)
			continue
		}
		if hasDefault && (rd.Type() == cty.NilType || !rd.RawEquals(md)) {
			p.add("variable %s defaults to %s in the root module and %s in the pipeline module: keep them equal", name, valueString(rd), valueString(md))
		}
		rt, mt := c.Root.text(attr(rv, "type")), c.Pipeline.text(attr(mv, "type"))
		if rt != mt {
			p.add("variable %s has type %s in the root module and %s in the pipeline module", name, rt, mt)
		}
	}
	return p
}

// unitRE finds the unit a number variable's description must name.
var unitRE = regexp.MustCompile(`\b(in (seconds|days|MB)|a count)\b`)

// unitOf returns the unit named in a variable's description, or "" when it
// names none.
func unitOf(description string) string {
	m := unitRE.FindStringSubmatch(description)
	switch {
	case m == nil:
		return ""
	case m[2] != "":
		return m[2]
	}
	return "count"
}

func checkVariablesDocumented(c *Config) []string {
	var p problems
	for _, m := range []*Module{c.Root, c.Pipeline} {
		for _, name := range sortedKeys(m.Variables()) {
			b := m.Variables()[name]
			desc, err := e2s(attr(b, "description"))
			if err != nil || strings.TrimSpace(desc) == "" {
				p.add("terraform/%s variable %s has no description", m.Dir, name)
			}
			te := attr(b, "type")
			if te == nil {
				p.add("terraform/%s variable %s has no type", m.Dir, name)
				continue
			}
			typ := m.text(te)
			if typ == "number" && unitOf(desc) == "" {
				p.add("terraform/%s variable %s: the description must name its unit (in seconds, in days, in MB, a count)", m.Dir, name)
			}
			if m == c.Pipeline && typ != "bool" && len(nested(b, "validation")) == 0 {
				p.add("terraform/%s variable %s is not validated", m.Dir, name)
			}
			for _, val := range nested(b, "validation") {
				if attr(val, "condition") == nil || attr(val, "error_message") == nil {
					p.add("terraform/%s variable %s has a validation without condition or error_message", m.Dir, name)
				}
			}
		}
	}
	// The validations accept the defaults.
	for _, m := range []*Module{c.Root, c.Pipeline} {
		p = append(p, validate(m, nil, "the defaults")...)
	}
	return p
}

// validate evaluates every variable validation of m with vars; it returns a
// message per failing one.
func validate(m *Module, vars map[string]cty.Value, what string) []string {
	var p problems
	e := env(&p, m, testWorkspace, vars)
	if e == nil {
		return p
	}
	for _, name := range sortedKeys(m.Variables()) {
		for _, val := range nested(m.Variables()[name], "validation") {
			ok, err := e.EvalBool(attr(val, "condition"), nil)
			if err != nil || !ok {
				p.add("terraform/%s variable %s: %s fail its validation %s (%v)", m.Dir, name, what, m.text(attr(val, "condition")), err)
			}
		}
	}
	return p
}

func checkEnvTfvars(c *Config) []string {
	var p problems
	rootVars := c.Root.Variables()
	values := map[string]map[string]cty.Value{}
	for _, name := range sortedKeys(c.Files) {
		if path.Dir(name) != "env" || !strings.HasSuffix(name, ".tfvars") {
			continue
		}
		f, diags := hclsyntax.ParseConfig(c.Files[name], name, hcl.InitialPos)
		if diags.HasErrors() {
			p.add("%s: %s", name, diags.Error())
			continue
		}
		ws := strings.TrimSuffix(path.Base(name), ".tfvars")
		if naming.ValidWorkspace(ws) != nil {
			p.add("%s: %q is not a valid workspace name", name, ws)
		}
		vals := map[string]cty.Value{}
		for an, a := range f.Body.(*hclsyntax.Body).Attributes {
			rv := rootVars[an]
			if rv == nil {
				p.add("%s sets %s, which is no variable of the root module", name, an)
				continue
			}
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				p.add("%s: %s: %s", name, an, diags.Error())
				continue
			}
			if d, ok, _ := variableDefault(rv); ok {
				if cv, err := convert.Convert(v, d.Type()); err == nil {
					v = cv
				} else {
					p.add("%s: %s does not fit the variable's type: %v", name, an, err)
					continue
				}
			}
			vals[an] = v
		}
		values[ws] = vals
		// The pipeline module's validations accept them.
		mv := map[string]cty.Value{"workspace": cty.StringVal(ws)}
		for k, v := range vals {
			if _, ok := c.Pipeline.Variables()[k]; ok {
				mv[k] = v
			}
		}
		p = append(p, validate(c.Pipeline, mv, name+"'s values")...)
	}
	prod, dev := values["prod"], values["dev"]
	if prod == nil || dev == nil {
		p.add("want env/dev.tfvars and env/prod.tfvars")
		return p
	}
	if v, ok := prod["deletion_protection"]; !ok || !v.True() {
		p.add("env/prod.tfvars must set deletion_protection = true")
	}
	if v, ok := prod["force_destroy"]; ok && v.True() {
		p.add("env/prod.tfvars must not set force_destroy")
	}
	days := func(vals map[string]cty.Value) float64 {
		v, ok := vals["log_retention_days"]
		if !ok {
			d, _, _ := variableDefault(rootVars["log_retention_days"])
			v = d
		}
		f, _ := v.AsBigFloat().Float64()
		return f
	}
	if days(prod) <= days(dev) {
		p.add("prod keeps logs %v days, dev %v: prod should keep them longer", days(prod), days(dev))
	}
	return p
}
