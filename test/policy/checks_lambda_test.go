package policy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

func checkLambdaConfig(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	wantEnv := map[string]map[string]string{
		"splitter": {
			"MEMO_QUEUE_URL":        ph("aws_sqs_queue.ops.url"),
			"MEMO_CHUNK_QUEUE_URL":  ph("aws_sqs_queue.chunks.url"),
			"MEMO_BATCHES_TABLE":    ph("aws_dynamodb_table.batches.name"),
			"MEMO_CHUNK_OPS":        "50000",
			"MEMO_PACK_OPS":         "10",
			"MEMO_OP_RULES":         "expression",
			"MEMO_SEND_CONCURRENCY": "16",
			"MEMO_WORKSPACE":        testWorkspace,
			"MEMO_LOG_LEVEL":        "info",
		},
		"compute": {
			"MEMO_TABLE":         ph("aws_dynamodb_table.results.name"),
			"MEMO_BATCHES_TABLE": ph("aws_dynamodb_table.batches.name"),
			"MEMO_WORKSPACE":     testWorkspace,
			"MEMO_LOG_LEVEL":     "info",
		},
	}
	for _, fn := range sortedKeys(wantEnv) {
		f := resource(&p, m, "aws_lambda_function", fn)
		if f == nil {
			continue
		}
		for a, want := range map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"} {
			if got, _ := e.EvalString(attr(f, a), nil); got != want {
				p.add("aws_lambda_function.%s %s is %q, want %q", fn, a, got, want)
			}
		}
		if arch, _ := e.EvalStrings(attr(f, "architectures"), nil); fmt.Sprint(arch) != "[arm64]" {
			p.add("aws_lambda_function.%s architectures is %v, want [arm64] (make build targets linux/arm64)", fn, arch)
		}
		file, _ := e.EvalString(attr(f, "filename"), nil)
		if path.Base(file) != fn+".zip" {
			p.add("aws_lambda_function.%s deploys %q, want build/%s.zip", fn, file, fn)
		}
		if h, _ := e.EvalString(attr(f, "source_code_hash"), nil); h != "<filebase64sha256("+file+")>" {
			p.add("aws_lambda_function.%s source_code_hash must be filebase64sha256 of its filename (is %s), or a new build is not deployed", fn, m.text(attr(f, "source_code_hash")))
		}
		envs := nested(f, "environment")
		got := map[string]string{}
		if len(envs) == 1 {
			v, err := e.Eval(attr(envs[0], "variables"), nil)
			if err == nil && v.CanIterateElements() {
				for it := v.ElementIterator(); it.Next(); {
					k, x := it.Element()
					if s, err := convert.Convert(x, cty.String); err == nil && s.IsKnown() && !s.IsNull() {
						got[k.AsString()] = s.AsString()
					}
				}
			}
		}
		if diff := cmp.Diff(wantEnv[fn], got); diff != "" {
			p.add("aws_lambda_function.%s environment (-want +got):\n%s", fn, diff)
		}
		lc := nested(f, "logging_config")
		if len(lc) != 1 {
			p.add("aws_lambda_function.%s has no logging_config", fn)
			continue
		}
		if lf, _ := e.EvalString(attr(lc[0], "log_format"), nil); lf != "JSON" {
			p.add("aws_lambda_function.%s log_format is %q, want JSON", fn, lf)
		}
		for _, level := range []string{"debug", "info", "warn", "error"} {
			el := env(&p, m, testWorkspace, map[string]cty.Value{"log_level": cty.StringVal(level)})
			if el == nil {
				continue
			}
			al, err := el.EvalString(attr(lc[0], "application_log_level"), nil)
			if err != nil || (al != "TRACE" && al != "DEBUG" && al != "INFO") {
				p.add("aws_lambda_function.%s with log_level %s filters application logs at %q: above INFO Lambda drops the level-less EMF lines, and the metrics with them", fn, level, al)
			}
		}
	}
	return p
}

// goEnvFile declares the environment variables the functions read, as
// constants named Env*, and reads them in SplitterFromEnv and ComputeFromEnv.
const goEnvFile = "../../internal/aws/app/app.go"

// goEnvReaders names the Go function that reads each Lambda's environment.
var goEnvReaders = map[string]string{"splitter": "SplitterFromEnv", "compute": "ComputeFromEnv"}

// goEnvReads returns, for each function of goEnvReaders, the environment
// variables its reader uses (the Env* constants it names), parsed from
// goEnvFile without compiling it.
func goEnvReads() (map[string]map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), goEnvFile, nil, 0)
	if err != nil {
		return nil, err
	}
	consts := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Env") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil {
						consts[n.Name] = v
					}
				}
			}
		}
	}
	out := map[string]map[string]bool{}
	for fn, reader := range goEnvReaders {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != reader || fd.Body == nil {
				continue
			}
			out[fn] = map[string]bool{}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && consts[id.Name] != "" {
					out[fn][consts[id.Name]] = true
				}
				return true
			})
		}
		if len(out[fn]) == 0 {
			return nil, fmt.Errorf("%s: no func %s reading Env* constants", goEnvFile, reader)
		}
	}
	return out, nil
}

// envOnlyForOperators would list variables set only for people reading a
// function's configuration; there are none: every variable is read.
var envOnlyForOperators = map[string]bool{}

func checkEnvMatchesGo(c *Config) []string {
	var p problems
	reads, err := goEnvReads()
	if err != nil {
		p.add("%v", err)
		return p
	}
	m := c.Pipeline
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	for _, fn := range sortedKeys(reads) {
		f := resource(&p, m, "aws_lambda_function", fn)
		if f == nil {
			continue
		}
		set := map[string]bool{}
		for _, en := range nested(f, "environment") {
			v, err := e.Eval(attr(en, "variables"), nil)
			if err != nil || !v.CanIterateElements() {
				p.add("aws_lambda_function.%s environment: %v", fn, err)
				continue
			}
			for it := v.ElementIterator(); it.Next(); {
				k, _ := it.Element()
				set[k.AsString()] = true
			}
		}
		for _, name := range sortedKeys(reads[fn]) {
			if !set[name] {
				p.add("internal/aws/app.%s reads %s, which Terraform does not set on the %s function", goEnvReaders[fn], name, fn)
			}
		}
		for _, name := range sortedKeys(set) {
			if !reads[fn][name] && !envOnlyForOperators[name] {
				p.add("Terraform sets %s on the %s function, which internal/aws/app.%s does not read", name, fn, goEnvReaders[fn])
			}
		}
	}
	return p
}
