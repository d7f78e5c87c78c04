package policy

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// checkExpressionsEvaluate is the part of terraform validate that runs
// without the AWS provider: every expression of both modules (locals,
// resource and data arguments with their instances and dynamic blocks,
// module arguments, provider settings, outputs) evaluates without error,
// with the defaults and with every optional part on. That catches
// references to undeclared variables, locals or resources, unknown
// functions and type errors. Attribute names and types of the provider's
// schemas stay unchecked.
func checkExpressionsEvaluate(c *Config) []string {
	var p problems
	for _, m := range []*Module{c.Root, c.Pipeline} {
		for _, vars := range []map[string]cty.Value{nil, featureVarsFor(m)} {
			e := env(&p, m, testWorkspace, vars)
			if e == nil {
				return p
			}
			for _, name := range sortedKeys(e.locals) {
				if _, err := e.Local(name); err != nil {
					p.add("terraform/%s: %v", m.Dir, err)
				}
			}
			for _, typ := range []string{"resource", "data", "module", "provider", "output"} {
				for _, b := range m.Blocks(typ) {
					what := typ + " " + strings.Join(b.Labels, ".")
					insts, err := e.Instances(b)
					if err != nil {
						p.add("terraform/%s %s: %v", m.Dir, what, err)
						continue
					}
					for _, in := range insts {
						for _, msg := range evalBody(e, in, map[string]bool{"for_each": true, "count": true, "source": typ == "module"}) {
							p.add("terraform/%s %s: %s", m.Dir, what, msg)
						}
					}
				}
			}
		}
	}
	return p
}

// featureVarsFor returns featureVars restricted to m's variables.
func featureVarsFor(m *Module) map[string]cty.Value {
	out := map[string]cty.Value{}
	for k, v := range featureVars {
		if _, ok := m.Variables()[k]; ok {
			out[k] = v
		}
	}
	return out
}

// evalBody evaluates every attribute of part and of its nested blocks
// (expanding dynamic ones), skipping the names in skip at the top level.
func evalBody(e *Env, part Part, skip map[string]bool) []string {
	var msgs []string
	for _, name := range sortedKeys(part.Body.Attributes) {
		if skip[name] {
			continue
		}
		if _, err := e.Eval(part.Body.Attributes[name].Expr, part.Vars); err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: %v", name, err))
		}
	}
	types := map[string]bool{}
	for _, b := range part.Body.Blocks {
		switch {
		case b.Type == "lifecycle":
			for _, cond := range append(nested(b, "precondition"), nested(b, "postcondition")...) {
				msgs = append(msgs, evalBody(e, Part{Body: cond.Body, Vars: part.Vars}, nil)...)
			}
		case b.Type == "dynamic" && len(b.Labels) == 1:
			types[b.Labels[0]] = true
		default:
			types[b.Type] = true
		}
	}
	for _, typ := range sortedKeys(types) {
		parts, err := e.Nested(part, typ)
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		for _, np := range parts {
			msgs = append(msgs, evalBody(e, np, nil)...)
		}
	}
	return msgs
}
