package schema

// Extraction from the npm package @cdktf/provider-aws, the CDK for
// Terraform binding generated from one hashicorp/aws release (its
// package.json names the release under cdktf.provider.version). Each
// lib/<name>/index.js holds one resource, data source or the provider
// itself, and is regular, generated code:
//
//   - `X.tfResourceType = "aws_sqs_queue";` names class X's Terraform type;
//   - synthesizeHclAttributes() of class X, and function
//     yToHclTerraform(struct) of nested struct Y, list every argument and
//     nested block by its Terraform name as
//     `name: { value: ..., isBlock: b, type: "simple|list|set|map|struct",
//     storageClassType: "string|stringList|...|YList" }`;
//   - a comment `// name - computed: c, optional: o, required: r` precedes
//     each computed-only attribute's getter (and each nested block's or
//     complex attribute's construction) in class X or YOutputReference;
//   - index.d.ts declares interface XConfig (Y for a struct) whose fields,
//     each documented with a link ending in `#tf_name Class#tf_name}`, are
//     `readonly camel?:` when optional and `readonly camel:` when required.
//
// Arguments that are optional become optional and computed in the schema:
// the binding does not say which optional arguments the provider computes,
// and for Terraform core's checks (names, types, required arguments, block
// structure) the difference does not matter.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
)

var (
	reType      = regexp.MustCompile(`(?m)^(\w+)\.tfResourceType = "(\w+)";`)
	reClass     = regexp.MustCompile(`(?m)^class (\w+) extends ([\w.]+) \{`)
	reAttrs     = regexp.MustCompile(`(?m)(?:^function (\w+)ToHclTerraform\(struct\) \{|^    synthesizeHclAttributes\(\) \{)`)
	reEntry     = regexp.MustCompile(`"?(\w+)"?: \{\s*value: ([^\n]*),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",\s*\}`)
	reHclFunc   = regexp.MustCompile(`(\w+)ToHclTerraform\b`)
	reFlags     = regexp.MustCompile(`(?m)^ +// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n([^\n]*)\n([^\n]*)`)
	reNewClass  = regexp.MustCompile(`= new (\w+)\(this, "\w+", (true|false)\)|= new (\w+)\(this, "\w+"\)`)
	reIface     = regexp.MustCompile(`(?m)^export interface (\w+)(?: extends [\w.]+)? \{`)
	reIfaceProp = regexp.MustCompile(`#(\w+) \w+#\w+\}[^/]*\*/\s*readonly (\w+)(\?)?:`)
	reVersion   = regexp.MustCompile(`"version"\s*:\s*"(\d+\.\d+\.\d+)"`)
)

// Extract reads the unpacked npm package at pkgDir (the folder holding
// package.json and lib/) and returns the provider schema.
func Extract(pkgDir string) (*Provider, error) {
	version, err := providerVersion(pkgDir)
	if err != nil {
		return nil, err
	}
	dirs, err := os.ReadDir(filepath.Join(pkgDir, "lib"))
	if err != nil {
		return nil, err
	}
	p := &Provider{Version: version, Resources: map[string]*Block{}, DataSources: map[string]*Block{}}
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
		work = make(chan string)
	)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for dir := range work {
				typ, kind, b, err := extractDir(dir)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err.Error())
				case kind == "provider":
					p.Provider = b
				case kind == "data":
					p.DataSources[typ] = b
				case kind == "resource":
					p.Resources[typ] = b
				}
				mu.Unlock()
			}
		})
	}
	for _, d := range dirs {
		if d.IsDir() {
			work <- filepath.Join(pkgDir, "lib", d.Name())
		}
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%d files not understood:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	if p.Provider == nil {
		return nil, fmt.Errorf("%s: no provider schema (lib/provider)", pkgDir)
	}
	return p, nil
}

// providerVersion is the hashicorp/aws release the binding was generated
// from: package.json's cdktf.provider.version ("aws@6.25.0" style or a
// bare version).
func providerVersion(pkgDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", err
	}
	var pj struct {
		Cdktf struct {
			Provider struct {
				Version string `json:"version"`
			} `json:"provider"`
		} `json:"cdktf"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		return "", fmt.Errorf("package.json: %w", err)
	}
	m := reVersion.FindStringSubmatch(`"version":"` + strings.TrimPrefix(pj.Cdktf.Provider.Version, "aws@") + `"`)
	if m == nil {
		return "", fmt.Errorf("package.json: no cdktf.provider.version (got %q)", pj.Cdktf.Provider.Version)
	}
	return m[1], nil
}

// file is one index.js with its index.d.ts, cut into what Extract needs.
type file struct {
	name    string
	js      string
	classes map[string]string // class name -> its body
	attrs   map[string]string // class or struct name -> its attrs object
	// optional[interface][tf name] reports whether the field is optional.
	optional map[string]map[string]bool
	meta     map[string]bool // interfaces extending cdktf.TerraformMetaArguments
}

func extractDir(dir string) (typ, kind string, b *Block, err error) {
	// Large types keep their structs in index-structs/structsN.js: read
	// every .js and .d.ts of the folder as one.
	js, err := readAll(dir, ".js")
	if err != nil {
		return "", "", nil, err
	}
	m := reType.FindStringSubmatch(js)
	if m == nil {
		return "", "", nil, nil // a folder of shared code, not a type
	}
	dts, err := readAll(dir, ".d.ts")
	if err != nil {
		return "", "", nil, err
	}
	f := parseFile(filepath.Base(dir), js, dts)
	class, typ := m[1], m[2]
	body, ok := f.classes[class]
	if !ok {
		return "", "", nil, fmt.Errorf("%s: no class %s", f.name, class)
	}
	switch {
	case typ == "aws":
		kind = "provider"
	case strings.Contains(f.js, "class "+class+" extends cdktf.TerraformDataSource"):
		kind = "data"
	default:
		kind = "resource"
	}
	_ = body
	b, err = f.block(class, class+"Config", class, 0)
	if err != nil {
		return "", "", nil, err
	}
	return typ, kind, b, nil
}

// readAll concatenates the files under dir whose names end in ext.
func readAll(dir, ext string) (string, error) {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) || (ext == ".js" && strings.HasSuffix(p, ".d.ts")) {
			return err
		}
		b, err := os.ReadFile(p)
		sb.Write(b)
		sb.WriteString("\n")
		return err
	})
	return sb.String(), err
}

func parseFile(name, js, dts string) *file {
	f := &file{name: name, js: js, classes: map[string]string{}, attrs: map[string]string{}, optional: map[string]map[string]bool{}, meta: map[string]bool{}}
	cls := reClass.FindAllStringSubmatchIndex(js, -1)
	for i, c := range cls {
		end := len(js)
		if i+1 < len(cls) {
			end = cls[i+1][0]
		}
		f.classes[js[c[2]:c[3]]] = js[c[0]:end]
	}
	for _, a := range reAttrs.FindAllStringSubmatchIndex(js, -1) {
		var owner string
		if a[2] >= 0 {
			owner = upperFirst(js[a[2]:a[3]])
		} else {
			// synthesizeHclAttributes of the last class opened before it.
			for _, c := range cls {
				if c[0] < a[0] {
					owner = js[c[2]:c[3]]
				}
			}
		}
		rest := js[a[1]:]
		if i := strings.Index(rest, "const attrs = {"); i >= 0 {
			rest = rest[i:]
			if j := strings.Index(rest, "return "); j >= 0 {
				rest = rest[:j]
			}
			f.attrs[owner] = rest
		}
	}
	ifs := reIface.FindAllStringSubmatchIndex(dts, -1)
	for i, c := range ifs {
		end := len(dts)
		if i+1 < len(ifs) {
			end = ifs[i+1][0]
		}
		body := dts[c[1]:end]
		if k := strings.Index(body, "\n}"); k >= 0 {
			body = body[:k]
		}
		props := map[string]bool{}
		for _, p := range reIfaceProp.FindAllStringSubmatch(body, -1) {
			props[p[1]] = p[3] == "?"
		}
		f.optional[dts[c[2]:c[3]]] = props
		if strings.Contains(dts[c[0]:c[1]], "extends cdktf.TerraformMetaArguments") {
			f.meta[dts[c[2]:c[3]]] = true
		}
	}
	return f
}

// flags are the comments of one class: name -> (computed, optional,
// required, the two lines after the comment).
type flag struct {
	computed, optional, required bool
	next                         string
}

func (f *file) flags(class string) map[string]flag {
	out := map[string]flag{}
	for _, m := range reFlags.FindAllStringSubmatch(f.classes[class], -1) {
		out[m[1]] = flag{m[2] == "true", m[3] == "true", m[4] == "true", m[5] + "\n" + m[6]}
	}
	return out
}

// block builds the schema of the class or struct named owner, whose
// interface is iface and whose comments are in class flagClass.
func (f *file) block(owner, iface, flagClass string, depth int) (*Block, error) {
	if depth > 12 {
		return nil, fmt.Errorf("%s: nesting too deep at %s", f.name, owner)
	}
	src, ok := f.attrs[owner]
	if !ok {
		return nil, fmt.Errorf("%s: no attributes for %s", f.name, owner)
	}
	// When a nested struct is also named XConfig, jsii renames one of the
	// two XConfigA: the resource's is the one extending
	// cdktf.TerraformMetaArguments.
	if depth == 0 && !f.meta[iface] && f.meta[iface+"A"] {
		iface += "A"
	}
	opt, ok := f.optional[iface]
	if !ok {
		return nil, fmt.Errorf("%s: no interface %s", f.name, iface)
	}
	flags := f.flags(flagClass)
	b := &Block{Attributes: map[string]*Attribute{}, Blocks: map[string]*Nested{}}
	for _, e := range reEntry.FindAllStringSubmatch(src, -1) {
		name, value, isBlock, kind, storage := e[1], e[2], e[3] == "true", e[4], e[5]
		optional, known := opt[name]
		if !known {
			return nil, fmt.Errorf("%s: %s.%s is not in interface %s", f.name, owner, name, iface)
		}
		if isBlock && kind == "map" {
			// A map of objects (a framework map-nested attribute): typed
			// loosely, its contents unchecked.
			isBlock, kind, storage = false, "map", "anyMap"
		}
		if !isBlock {
			t, err := attrType(kind, storage)
			if err != nil {
				return nil, fmt.Errorf("%s: %s.%s: %w", f.name, owner, name, err)
			}
			a := &Attribute{Type: t}
			if optional {
				a.Optional, a.Computed = true, true
			} else {
				a.Required = true
			}
			b.Attributes[name] = a
			continue
		}
		fn := reHclFunc.FindStringSubmatch(value)
		if fn == nil {
			return nil, fmt.Errorf("%s: %s.%s: no nested struct in %q", f.name, owner, name, value)
		}
		child := upperFirst(fn[1])
		nb, err := f.block(child, child, child+"OutputReference", depth+1)
		if err != nil {
			return nil, err
		}
		n := &Nested{Nesting: "list", Block: nb}
		switch kind {
		case "set":
			// Terraform refuses dynamic types in a set of blocks (cty
			// hashes set elements by type); such a set is served as a
			// list, which configures the same way.
			if !nb.hasDynamic() {
				n.Nesting = "set"
			}
		case "struct":
			n.MaxItems = 1
		case "list":
		default:
			return nil, fmt.Errorf("%s: %s.%s: block of kind %q", f.name, owner, name, kind)
		}
		if fl, ok := flags[name]; (ok && fl.required) || (!ok && !optional) {
			n.MinItems = 1
		}
		b.Blocks[name] = n
	}
	// Computed-only attributes: commented, not arguments.
	for name, fl := range flags {
		if !fl.computed || fl.optional || fl.required {
			continue
		}
		if _, ok := b.Attributes[name]; ok {
			continue
		}
		if _, ok := b.Blocks[name]; ok {
			continue
		}
		t, err := f.computedType(fl.next, depth)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.%s: %w", f.name, owner, name, err)
		}
		b.Attributes[name] = &Attribute{Type: t, Computed: true}
	}
	return b, nil
}

// attrType is the cty type of an argument.
func attrType(kind, storage string) (json.RawMessage, error) {
	prim := map[string]string{"string": `"string"`, "number": `"number"`, "boolean": `"bool"`, "any": `"dynamic"`}
	if t, ok := prim[storage]; ok && kind == "simple" {
		return json.RawMessage(t), nil
	}
	coll := map[string]string{"list": "list", "set": "set", "map": "map"}[kind]
	if coll == "" {
		return nil, fmt.Errorf("attribute of kind %q, storage %q", kind, storage)
	}
	var elem string
	switch storage {
	case "stringList", "stringMap":
		elem = `"string"`
	case "numberList", "numberMap":
		elem = `"number"`
	case "booleanList", "booleanMap":
		elem = `"bool"`
	case "stringListList":
		elem = `["list","string"]`
	case "anyMap":
		elem = `"dynamic"`
	case "stringMapList", "stringMapMap":
		elem = `["map","string"]`
	default:
		return nil, fmt.Errorf("attribute of kind %q, storage %q", kind, storage)
	}
	return json.RawMessage(`["` + coll + `",` + elem + `]`), nil
}

// computedType is the type of a computed-only attribute, read from the code
// after its comment: a getter (`return this.getStringAttribute(...)`) or a
// construction (`this._x = new YList(this, "x", wrapsSet)`).
func (f *file) computedType(next string, depth int) (json.RawMessage, error) {
	switch {
	case strings.Contains(next, "cdktf.Fn.tolist(this.getListAttribute"):
		return json.RawMessage(`["set","string"]`), nil
	case strings.Contains(next, "getStringAttribute"):
		return json.RawMessage(`"string"`), nil
	case strings.Contains(next, "getNumberAttribute"):
		return json.RawMessage(`"number"`), nil
	case strings.Contains(next, "getBooleanAttribute"):
		return json.RawMessage(`"bool"`), nil
	case strings.Contains(next, "getListAttribute"):
		return json.RawMessage(`["list","string"]`), nil
	case strings.Contains(next, "getNumberListAttribute"), strings.Contains(next, "Token.asNumberList"):
		return json.RawMessage(`["list","number"]`), nil
	case strings.Contains(next, "new cdktf.StringMap("):
		return json.RawMessage(`["map","string"]`), nil
	case strings.Contains(next, "new cdktf.NumberMap("):
		return json.RawMessage(`["map","number"]`), nil
	case strings.Contains(next, "new cdktf.BooleanMap("):
		return json.RawMessage(`["map","bool"]`), nil
	case strings.Contains(next, "interpolationForAttribute"):
		return json.RawMessage(`"dynamic"`), nil
	}
	m := reNewClass.FindStringSubmatch(next)
	if m == nil {
		return nil, fmt.Errorf("computed attribute not understood: %q", next)
	}
	cls, set := m[1], m[2] == "true"
	if cls == "" {
		cls = m[3]
	}
	var base, coll string
	switch {
	case strings.HasSuffix(cls, "List"):
		base, coll = strings.TrimSuffix(cls, "List"), "list"
		if set {
			coll = "set"
		}
	case strings.HasSuffix(cls, "Map"):
		base, coll = strings.TrimSuffix(cls, "Map"), "map"
	case strings.HasSuffix(cls, "OutputReference"):
		base, coll = strings.TrimSuffix(cls, "OutputReference"), "list"
	default:
		return nil, fmt.Errorf("computed attribute of class %s", cls)
	}
	obj, err := f.objectType(base, depth+1)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`["` + coll + `",` + string(obj) + `]`), nil
}

// objectType is the object type of a computed struct: its OutputReference
// class's commented getters.
func (f *file) objectType(base string, depth int) (json.RawMessage, error) {
	if depth > 12 {
		return nil, fmt.Errorf("nesting too deep at %s", base)
	}
	attrs := map[string]json.RawMessage{}
	for name, fl := range f.flags(base + "OutputReference") {
		t, err := f.computedType(fl.next, depth)
		if err != nil {
			return nil, err
		}
		attrs[name] = t
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`["object",` + string(b) + `]`), nil
}

// hasDynamic reports whether a "dynamic" type occurs anywhere in b.
func (b *Block) hasDynamic() bool {
	for _, a := range b.Attributes {
		if strings.Contains(string(a.Type), `"dynamic"`) {
			return true
		}
	}
	for _, n := range b.Blocks {
		if n.Block.hasDynamic() {
			return true
		}
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
