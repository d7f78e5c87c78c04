package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Env evaluates the expressions of one module the way Terraform would at
// plan time with chosen variable values. What only AWS knows evaluates to a
// placeholder string naming it: aws_sqs_queue.ops.arn is "<aws_sqs_queue.ops.arn>",
// module.pipeline.bucket is "<module.pipeline.bucket>". The account id and
// region are testAccount and testRegion.
type Env struct {
	m      *Module
	ctx    *hcl.EvalContext
	locals map[string]hclsyntax.Expression
	done   map[string]cty.Value
	errs   map[string]error
	active map[string]bool
}

// requiredInputs are the values the tests give the module's variables that
// have no default (the root module passes them).
var requiredInputs = map[string]cty.Value{
	"workspace":    cty.StringVal(testWorkspace),
	"splitter_zip": cty.StringVal("./../build/splitter.zip"),
	"compute_zip":  cty.StringVal("./../build/compute.zip"),
}

// commonAttrs are the resource attributes every placeholder object offers,
// besides those the configuration reads.
var commonAttrs = []string{"arn", "id", "name", "url", "json"}

// NewEnv prepares the evaluation of m in Terraform workspace ws with the
// variables' defaults, overridden by vars.
func (m *Module) NewEnv(ws string, vars map[string]cty.Value) (*Env, error) {
	varVals := map[string]cty.Value{}
	for name, b := range m.Variables() {
		if v, ok := vars[name]; ok {
			varVals[name] = v
			continue
		}
		v, ok, err := variableDefault(b)
		if err != nil {
			return nil, err
		}
		if !ok {
			rv, ok := requiredInputs[name]
			if !ok {
				return nil, fmt.Errorf("variable %q has no default and the tests give it no value", name)
			}
			v = rv
		}
		varVals[name] = v
	}
	for name := range vars {
		if _, ok := varVals[name]; !ok {
			return nil, fmt.Errorf("no variable %q in terraform/%s", name, m.Dir)
		}
	}

	top := map[string]cty.Value{
		"var":       objectOrEmpty(varVals),
		"path":      cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal("."), "module": cty.StringVal("."), "cwd": cty.StringVal(".")}),
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal(ws)}),
	}
	for k, v := range m.placeholders() {
		top[k] = v
	}
	e := &Env{
		m:      m,
		locals: m.Locals(),
		done:   map[string]cty.Value{},
		errs:   map[string]error{},
		active: map[string]bool{},
	}
	e.ctx = &hcl.EvalContext{Variables: top, Functions: functions()}
	for name := range e.locals {
		e.local(name)
	}
	top["local"] = objectOrEmpty(e.done)
	return e, nil
}

// Local returns the value of local.name, or the error that kept it from
// evaluating.
func (e *Env) Local(name string) (cty.Value, error) {
	if err := e.errs[name]; err != nil {
		return cty.DynamicVal, err
	}
	v, ok := e.done[name]
	if !ok {
		return cty.DynamicVal, fmt.Errorf("no local %q in terraform/%s", name, e.m.Dir)
	}
	return v, nil
}

// local evaluates a local value after the locals it depends on.
func (e *Env) local(name string) {
	if _, ok := e.done[name]; ok || e.active[name] {
		return
	}
	expr, ok := e.locals[name]
	if !ok {
		return
	}
	e.active[name] = true
	defer delete(e.active, name)
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			e.local(a.Name)
		}
	}
	ctx := e.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{"local": objectOrEmpty(e.done)}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		e.errs[name] = fmt.Errorf("local.%s: %s", name, diags.Error())
		v = cty.DynamicVal
	}
	e.done[name] = v
}

// Eval evaluates expr, with extra variables (each, count, a dynamic block's
// iterator) when given.
func (e *Env) Eval(expr hclsyntax.Expression, extra map[string]cty.Value) (cty.Value, error) {
	if expr == nil {
		return cty.NullVal(cty.DynamicPseudoType), nil
	}
	ctx := e.ctx
	if len(extra) > 0 {
		ctx = e.ctx.NewChild()
		ctx.Variables = extra
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, fmt.Errorf("%s: %s", e.m.text(expr), diags.Error())
	}
	return v, nil
}

// EvalString evaluates expr to a known string.
func (e *Env) EvalString(expr hclsyntax.Expression, extra map[string]cty.Value) (string, error) {
	v, err := e.Eval(expr, extra)
	if err != nil {
		return "", err
	}
	v, err = convert.Convert(v, cty.String)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return "", fmt.Errorf("%s is not a known string", e.m.text(expr))
	}
	return v.AsString(), nil
}

// EvalStrings evaluates expr to a list of known strings.
func (e *Env) EvalStrings(expr hclsyntax.Expression, extra map[string]cty.Value) ([]string, error) {
	v, err := e.Eval(expr, extra)
	if err != nil {
		return nil, err
	}
	v, err = convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() || !v.IsWhollyKnown() {
		return nil, fmt.Errorf("%s is not a known list of strings", e.m.text(expr))
	}
	var out []string
	for _, s := range v.AsValueSlice() {
		out = append(out, s.AsString())
	}
	return out, nil
}

// EvalNumber evaluates expr to a known number.
func (e *Env) EvalNumber(expr hclsyntax.Expression, extra map[string]cty.Value) (float64, error) {
	v, err := e.Eval(expr, extra)
	if err != nil {
		return 0, err
	}
	v, err = convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return 0, fmt.Errorf("%s is not a known number", e.m.text(expr))
	}
	f, _ := v.AsBigFloat().Float64()
	return f, nil
}

// EvalBool evaluates expr to a known bool.
func (e *Env) EvalBool(expr hclsyntax.Expression, extra map[string]cty.Value) (bool, error) {
	v, err := e.Eval(expr, extra)
	if err != nil {
		return false, err
	}
	v, err = convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return false, fmt.Errorf("%s is not a known bool", e.m.text(expr))
	}
	return v.True(), nil
}

// Part is one block body as Terraform would see it after expanding dynamic
// blocks, with the variables its expressions need.
type Part struct {
	Body *hclsyntax.Body
	Vars map[string]cty.Value
}

// Attr returns the expression of attribute name, or nil.
func (p Part) Attr(name string) hclsyntax.Expression {
	if a, ok := p.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// Nested returns the nested blocks of type typ of p, static and dynamic.
func (e *Env) Nested(p Part, typ string) ([]Part, error) {
	var out []Part
	for _, c := range p.Body.Blocks {
		switch {
		case c.Type == typ:
			out = append(out, Part{Body: c.Body, Vars: p.Vars})
		case c.Type == "dynamic" && len(c.Labels) == 1 && c.Labels[0] == typ:
			iter := typ
			if it := attr(c, "iterator"); it != nil {
				iter = hcl.ExprAsKeyword(it)
			}
			coll, err := e.Eval(attr(c, "for_each"), p.Vars)
			if err != nil {
				return nil, fmt.Errorf("dynamic %q: %v", typ, err)
			}
			if !coll.IsWhollyKnown() || coll.IsNull() || !coll.CanIterateElements() {
				return nil, fmt.Errorf("dynamic %q: for_each is not a known collection", typ)
			}
			var content *hclsyntax.Block
			for _, cb := range c.Body.Blocks {
				if cb.Type == "content" {
					content = cb
				}
			}
			if content == nil {
				return nil, fmt.Errorf("dynamic %q has no content block", typ)
			}
			for it := coll.ElementIterator(); it.Next(); {
				k, v := it.Element()
				vars := map[string]cty.Value{}
				for n, x := range p.Vars {
					vars[n] = x
				}
				vars[iter] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
				out = append(out, Part{Body: content.Body, Vars: vars})
			}
		}
	}
	return out, nil
}

// placeholders builds the objects that stand for resources, data sources
// and module calls: each offers the attributes the configuration reads
// (and commonAttrs), as placeholder strings.
func (m *Module) placeholders() map[string]cty.Value {
	// read[address] = attribute names read anywhere in the module.
	read := map[string]map[string]bool{}
	note := func(addr, a string) {
		if read[addr] == nil {
			read[addr] = map[string]bool{}
		}
		if a != "" {
			read[addr][a] = true
		}
	}
	for _, n := range m.fileNames() {
		walkBody(m.Files[n], func(tr hcl.Traversal) {
			names := []string{tr.RootName()}
			for _, s := range tr[1:] {
				a, ok := s.(hcl.TraverseAttr)
				if !ok {
					break
				}
				names = append(names, a.Name)
			}
			switch {
			case names[0] == "data" && len(names) >= 3:
				attrName := ""
				if len(names) >= 4 {
					attrName = names[3]
				}
				note("data."+names[1]+"."+names[2], attrName)
			case names[0] == "module" && len(names) >= 2:
			case len(names) >= 2 && strings.Contains(names[0], "_"):
				attrName := ""
				if len(names) >= 3 {
					attrName = names[2]
				}
				note(names[0]+"."+names[1], attrName)
			}
		})
	}

	instanceOf := func(b *hclsyntax.Block, addr string) cty.Value {
		attrs := map[string]cty.Value{}
		for _, a := range commonAttrs {
			attrs[a] = cty.StringVal("<" + addr + "." + a + ">")
		}
		for a := range read[addr] {
			attrs[a] = cty.StringVal("<" + addr + "." + a + ">")
		}
		// A resource's arguments are attributes too.
		for a := range b.Body.Attributes {
			if a != "for_each" && a != "count" && a != "depends_on" && a != "provider" {
				attrs[a] = cty.StringVal("<" + addr + "." + a + ">")
			}
		}
		if addr == "data.aws_caller_identity.current" {
			attrs["account_id"] = cty.StringVal(testAccount)
		}
		if addr == "data.aws_region.current" {
			attrs["region"] = cty.StringVal(testRegion)
			attrs["name"] = cty.StringVal(testRegion)
		}
		obj := cty.ObjectVal(attrs)
		switch {
		case attr(b, "count") != nil:
			return cty.TupleVal([]cty.Value{obj})
		case attr(b, "for_each") != nil:
			return cty.ObjectVal(map[string]cty.Value{"key": obj})
		}
		return obj
	}

	resources := map[string]map[string]cty.Value{}
	for _, b := range m.Blocks("resource") {
		typ, name := b.Labels[0], b.Labels[1]
		if resources[typ] == nil {
			resources[typ] = map[string]cty.Value{}
		}
		resources[typ][name] = instanceOf(b, typ+"."+name)
	}
	data := map[string]map[string]cty.Value{}
	for _, b := range m.Blocks("data") {
		typ, name := b.Labels[0], b.Labels[1]
		if data[typ] == nil {
			data[typ] = map[string]cty.Value{}
		}
		data[typ][name] = instanceOf(b, "data."+typ+"."+name)
	}
	modules := map[string]cty.Value{}
	for _, b := range m.Blocks("module") {
		name := b.Labels[0]
		attrs := map[string]cty.Value{}
		if src, err := e2s(attr(b, "source")); err == nil && strings.TrimPrefix(src, "./") == pipelineDir && m.cfg.Pipeline != nil {
			for o := range m.cfg.Pipeline.Outputs() {
				attrs[o] = cty.StringVal("<module." + name + "." + o + ">")
			}
		}
		modules[name] = objectOrEmpty(attrs)
	}

	out := map[string]cty.Value{}
	for typ, byName := range resources {
		out[typ] = cty.ObjectVal(byName)
	}
	dataObj := map[string]cty.Value{}
	for typ, byName := range data {
		dataObj[typ] = cty.ObjectVal(byName)
	}
	out["data"] = objectOrEmpty(dataObj)
	out["module"] = objectOrEmpty(modules)
	return out
}

// e2s evaluates a literal string expression.
func e2s(e hclsyntax.Expression) (string, error) {
	if e == nil {
		return "", fmt.Errorf("no expression")
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		return "", fmt.Errorf("not a literal string")
	}
	return v.AsString(), nil
}

// walkBody calls fn for every traversal in every expression of body.
func walkBody(body *hclsyntax.Body, fn func(hcl.Traversal)) {
	for _, a := range body.Attributes {
		for _, tr := range a.Expr.Variables() {
			fn(tr)
		}
	}
	for _, b := range body.Blocks {
		walkBody(b.Body, fn)
	}
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// functions are the Terraform functions the configuration calls, from cty's
// stdlib where it has them; the rest are written here with Terraform's
// semantics. filebase64sha256 returns a placeholder naming its file.
func functions() map[string]function.Function {
	str := func(f func(s, x string) bool) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "x", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
			},
		})
	}
	return map[string]function.Function{
		"alltrue": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				for _, v := range args[0].AsValueSlice() {
					if v.IsNull() || !v.True() {
						return cty.False, nil
					}
				}
				return cty.True, nil
			},
		}),
		"can":        tryfunc.CanFunc,
		"coalesce":   stdlib.CoalesceFunc,
		"concat":     stdlib.ConcatFunc,
		"contains":   stdlib.ContainsFunc,
		"endswith":   str(strings.HasSuffix),
		"startswith": str(strings.HasPrefix),
		"filebase64sha256": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.StringVal("<filebase64sha256(" + args[0].AsString() + ")>"), nil
			},
		}),
		"floor":      stdlib.FloorFunc,
		"format":     stdlib.FormatFunc,
		"join":       stdlib.JoinFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"keys":       stdlib.KeysFunc,
		"length":     stdlib.LengthFunc,
		"lookup": function.New(&function.Spec{
			// Terraform's lookup, unlike cty's, accepts a null default.
			Params: []function.Parameter{{Name: "map", Type: cty.DynamicPseudoType}, {Name: "key", Type: cty.String}},
			VarParam: &function.Parameter{Name: "default", Type: cty.DynamicPseudoType, AllowNull: true,
				AllowDynamicType: true, AllowUnknown: true},
			Type: function.StaticReturnType(cty.DynamicPseudoType),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				m, key := args[0], args[1].AsString()
				if !m.IsNull() && (m.Type().IsMapType() || m.Type().IsObjectType()) {
					if m.Type().IsObjectType() && m.Type().HasAttribute(key) {
						return m.GetAttr(key), nil
					}
					if m.Type().IsMapType() && m.HasIndex(args[1]).True() {
						return m.Index(args[1]), nil
					}
				}
				if len(args) > 2 {
					return args[2], nil
				}
				return cty.NilVal, fmt.Errorf("lookup: no key %q and no default", key)
			},
		}),
		"lower": stdlib.LowerFunc,
		"merge": stdlib.MergeFunc,
		"one": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
			Type: func(args []cty.Value) (cty.Type, error) {
				t := args[0].Type()
				switch {
				case t.IsListType() || t.IsSetType():
					return t.ElementType(), nil
				case t.IsTupleType() && len(t.TupleElementTypes()) <= 1:
					if len(t.TupleElementTypes()) == 0 {
						return cty.DynamicPseudoType, nil
					}
					return t.TupleElementTypes()[0], nil
				}
				return cty.NilType, fmt.Errorf("one needs a list, set or tuple of at most one element")
			},
			Impl: func(args []cty.Value, rt cty.Type) (cty.Value, error) {
				vs := args[0].AsValueSlice()
				switch len(vs) {
				case 0:
					return cty.NullVal(rt), nil
				case 1:
					return vs[0], nil
				}
				return cty.NilVal, fmt.Errorf("one: %d elements", len(vs))
			},
		}),
		"regex":   stdlib.RegexFunc,
		"replace": stdlib.ReplaceFunc,
		"slice":   stdlib.SliceFunc,
		"sort":    stdlib.SortFunc,
		"tostring": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return convert.Convert(args[0], cty.String)
			},
		}),
		"upper": stdlib.UpperFunc,
	}
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
