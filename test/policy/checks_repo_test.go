package policy

import (
	"path"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// requiredOutputs are the root outputs memo --from-terraform, Terratest and
// the README read, with what each must evaluate to in the pipeline module.
var requiredOutputs = map[string]string{
	"region":            `"` + testRegion + `"`,
	"account_id":        `"` + testAccount + `"`,
	"workspace":         `"` + testWorkspace + `"`,
	"bucket":            `"` + ph("aws_s3_bucket.batches.id") + `"`,
	"table":             `"` + ph("aws_dynamodb_table.results.name") + `"`,
	"batches_table":     `"` + ph("aws_dynamodb_table.batches.name") + `"`,
	"queue_url":         `"` + ph("aws_sqs_queue.ops.url") + `"`,
	"dlq_url":           `"` + ph("aws_sqs_queue.dlq.url") + `"`,
	"splitter_function": `"` + ph("aws_lambda_function.splitter.function_name") + `"`,
	"compute_function":  `"` + ph("aws_lambda_function.compute.function_name") + `"`,
}

func checkOutputs(c *Config) []string {
	var p problems
	root, mod := c.Root.Outputs(), c.Pipeline.Outputs()
	re := env(&p, c.Root, testWorkspace, nil)
	me := env(&p, c.Pipeline, testWorkspace, nil)
	if re == nil || me == nil {
		return p
	}
	for _, name := range sortedKeys(requiredOutputs) {
		ro, mo := root[name], mod[name]
		if ro == nil {
			p.add("the root module has no output %q", name)
			continue
		}
		if mo == nil {
			p.add("the pipeline module has no output %q", name)
			continue
		}
		if v, err := re.EvalString(attr(ro, "value"), nil); err != nil || v != ph("module.pipeline."+name) {
			p.add("root output %s is %s, want module.pipeline.%s", name, c.Root.text(attr(ro, "value")), name)
		}
		v, err := me.Eval(attr(mo, "value"), nil)
		if err != nil || valueString(v) != requiredOutputs[name] {
			p.add("module output %s is %s, want %s (%v)", name, valueString(v), requiredOutputs[name], err)
		}
	}
	return p
}

func checkBackendExample(c *Config) []string {
	var p problems
	const name = "backend.tf.example"
	src, ok := c.Files[name]
	if !ok {
		p.add("terraform/%s is missing", name)
		return p
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		p.add("terraform/%s: %s", name, diags.Error())
		return p
	}
	var s3 *hclsyntax.Block
	for _, tb := range f.Body.(*hclsyntax.Body).Blocks {
		for _, bb := range nested(tb, "backend") {
			if tb.Type == "terraform" && len(bb.Labels) == 1 && bb.Labels[0] == "s3" {
				s3 = bb
			}
		}
	}
	if s3 == nil {
		p.add("terraform/%s has no terraform { backend \"s3\" } block", name)
		return p
	}
	for _, a := range []string{"bucket", "key", "region", "workspace_key_prefix"} {
		if v, err := e2s(attr(s3, a)); err != nil || v == "" {
			p.add("terraform/%s: the s3 backend needs %s (per-workspace keys need workspace_key_prefix)", name, a)
		}
	}
	encrypted := false
	if x := attr(s3, "encrypt"); x != nil {
		if v, diags := x.Value(nil); !diags.HasErrors() && v.Type() == cty.Bool {
			encrypted = v.True()
		}
	}
	if !encrypted {
		p.add("terraform/%s: the s3 backend must set encrypt = true", name)
	}
	lockTable, _ := e2s(attr(s3, "dynamodb_table"))
	lockFile := false
	if x := attr(s3, "use_lockfile"); x != nil {
		if v, diags := x.Value(nil); !diags.HasErrors() && v.Type() == cty.Bool {
			lockFile = v.True()
		}
	}
	switch {
	case lockTable == "" && !lockFile:
		p.add("terraform/%s: the s3 backend must lock (use_lockfile = true; dynamodb_table for Terraform 1.5-1.9)", name)
	case !lockFile:
		// Terraform 1.11 deprecates dynamodb_table; teams run 1.10+ or
		// OpenTofu 1.10+, which lock natively.
		p.add("terraform/%s: the example must lock natively by default (use_lockfile = true); the DynamoDB table is the path for Terraform 1.5-1.9", name)
	}
	return p
}

// tfsecIgnoreRE matches an inline tfsec ignore: the rule id, then the reason.
var tfsecIgnoreRE = regexp.MustCompile(`tfsec:ignore:([A-Za-z0-9*-]+)(?::exp:[0-9-]+)?(.*)`)

func checkTfsecIgnores(c *Config) []string {
	var p problems
	for _, name := range sortedKeys(c.Files) {
		if strings.HasPrefix(name, ".tfsec/") || path.Base(name) == "tfsec.yml" || path.Base(name) == "tfsec.json" {
			p.add("terraform/%s: tfsec configuration could exclude checks wholesale; ignore inline, with a reason", name)
		}
		if !strings.HasSuffix(name, ".tf") {
			continue
		}
		for i, line := range strings.Split(string(c.Files[name]), "\n") {
			m := tfsecIgnoreRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if m[1] == "*" || !strings.HasPrefix(m[1], "aws-") {
				p.add("terraform/%s:%d ignores %q: name one aws- check", name, i+1, m[1])
			}
			if reason := strings.TrimSpace(m[2]); len(strings.Fields(reason)) < 5 {
				p.add("terraform/%s:%d ignores %s without a written reason", name, i+1, m[1])
			}
		}
	}
	return p
}
