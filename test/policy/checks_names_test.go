package policy

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// nameAttrs are the attributes that name a resource, by type. A resource of
// one of these types must set its name (AWS would make one up otherwise).
var nameAttrs = map[string]string{
	"aws_s3_bucket":               "bucket",
	"aws_sqs_queue":               "name",
	"aws_dynamodb_table":          "name",
	"aws_lambda_function":         "function_name",
	"aws_iam_role":                "name",
	"aws_iam_role_policy":         "name",
	"aws_iam_policy":              "name",
	"aws_cloudwatch_log_group":    "name",
	"aws_cloudwatch_metric_alarm": "alarm_name",
	"aws_cloudwatch_dashboard":    "dashboard_name",
	"aws_sns_topic":               "name",
	"aws_kms_alias":               "name",
}

func checkNamesFromWorkspace(c *Config) []string {
	var p problems
	m := c.Pipeline
	if pre := m.Locals()["prefix"]; pre == nil || !refersTo(pre, "var.workspace") {
		p.add("local.prefix must be built from var.workspace")
	}
	for _, mb := range c.Root.Blocks("module") {
		if !refersTo(attr(mb, "workspace"), "terraform.workspace") {
			p.add("module %q: pass workspace = terraform.workspace (is %s)", mb.Labels[0], c.Root.text(attr(mb, "workspace")))
		}
	}
	for _, ws := range []string{testWorkspace, "other-ws"} {
		vars := map[string]cty.Value{"workspace": cty.StringVal(ws)}
		for k, v := range featureVars {
			vars[k] = v
		}
		e := env(&p, m, ws, vars)
		if e == nil {
			return p
		}
		prefix := naming.Prefix + "-" + ws + "-"
		for _, b := range m.Blocks("resource") {
			typ, name := b.Labels[0], b.Labels[1]
			an, required := nameAttrs[typ]
			if !required {
				an = "name"
			}
			exprs := map[string]hclsyntax.Expression{}
			for _, a := range []string{an, "name_prefix"} {
				if x := attr(b, a); x != nil {
					exprs[a] = x
				}
			}
			if required && exprs[an] == nil {
				p.add("%s.%s (%s) sets no %s: AWS would name it, outside memo-<workspace>-<role>", typ, name, where(b), an)
				continue
			}
			for _, a := range sortedKeys(exprs) {
				x := exprs[a]
				if !refersTo(x, "local.prefix") && !refersTo(x, "local.names") {
					p.add("%s.%s %s = %s is not built from local.prefix (or local.names)", typ, name, a, m.text(x))
				}
				insts, err := e.Instances(b)
				if err != nil {
					p.add("%s.%s: %v", typ, name, err)
					continue
				}
				for _, in := range insts {
					v, err := e.EvalString(x, in.Vars)
					if err != nil {
						p.add("%s.%s %s: %v", typ, name, a, err)
						continue
					}
					if !strings.HasPrefix(strings.TrimPrefix(v, "/aws/lambda/"), prefix) {
						p.add("%s.%s %s is %q in workspace %s, want %s<role>", typ, name, a, v, ws, prefix)
					}
				}
			}
		}
	}
	return p
}

func checkNamesMatchGo(c *Config) []string {
	var p problems
	m := c.Pipeline
	ws := "agree-1"
	e := env(&p, m, ws, map[string]cty.Value{"workspace": cty.StringVal(ws)})
	if e == nil {
		return p
	}
	want := naming.For(ws, testAccount)
	for _, n := range []struct {
		typ, name, attr, want string
	}{
		{"aws_s3_bucket", "batches", "bucket", want.Bucket},
		{"aws_dynamodb_table", "results", "name", want.Table},
		{"aws_sqs_queue", "ops", "name", want.Queue},
		{"aws_sqs_queue", "dlq", "name", want.DLQ},
		{"aws_lambda_function", "splitter", "function_name", want.Splitter},
		{"aws_lambda_function", "compute", "function_name", want.Compute},
	} {
		b := resource(&p, m, n.typ, n.name)
		if b == nil {
			continue
		}
		got, err := e.EvalString(attr(b, n.attr), nil)
		if err != nil {
			p.add("%s.%s %s: %v", n.typ, n.name, n.attr, err)
			continue
		}
		if got != n.want {
			p.add("%s.%s is named %q in workspace %s of account %s; internal/pipeline/naming says %q", n.typ, n.name, got, ws, testAccount, n.want)
		}
	}
	idx, err := e.Local("batch_index")
	if err != nil || idx.Type() != cty.String || idx.AsString() != want.BatchIndex {
		p.add("local.batch_index is %s, internal/pipeline/naming says %q (%v)", valueString(idx), want.BatchIndex, err)
	}
	for local, goValue := range map[string]string{"batch_prefix": naming.BatchPrefix, "report_prefix": naming.ReportPrefix} {
		v, err := e.Local(local)
		if err != nil || v.Type() != cty.String || v.AsString() != goValue {
			p.add("local.%s is %s, internal/pipeline/naming says %q (%v)", local, valueString(v), goValue, err)
		}
	}
	return p
}

// workspaceSamples are workspace names on both sides of the naming rule.
var workspaceSamples = []string{
	"dev", "prod", "a", "0", "a-b", "pr-1234", "default", "abcdefghijklmnopqrst",
	"", "abcdefghijklmnopqrstu", "Dev", "-dev", "dev_1", "dev.1", "dév", "dev ", "a/b",
}

func checkWorkspaceValidated(c *Config) []string {
	var p problems
	m := c.Pipeline
	v := m.Variables()["workspace"]
	if v == nil {
		p.add("terraform/%s has no variable workspace", m.Dir)
		return p
	}
	vals := nested(v, "validation")
	if len(vals) == 0 {
		p.add("variable workspace has no validation")
		return p
	}
	for _, ws := range workspaceSamples {
		e := env(&p, m, ws, map[string]cty.Value{"workspace": cty.StringVal(ws)})
		if e == nil {
			return p
		}
		accepted := true
		for _, val := range vals {
			ok, err := e.EvalBool(attr(val, "condition"), nil)
			if err != nil {
				ok = false // Terraform reports an error: rejected
			}
			accepted = accepted && ok
		}
		goAccepts := naming.ValidWorkspace(ws) == nil
		if accepted != goAccepts {
			p.add("workspace %q: Terraform accepts it = %v, internal/pipeline/naming.ValidWorkspace accepts it = %v", ws, accepted, goAccepts)
		}
	}
	return p
}
