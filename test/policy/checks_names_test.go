package policy

import (
	"strings"

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

// checkNamesBuiltFromPrefix: every name is built from local.prefix (or
// local.names), which is built from var.workspace, which the root sets to
// terraform.workspace; a resource of nameAttrs' types sets its name.
func checkNamesBuiltFromPrefix(c *Config) []string {
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
	for _, b := range m.Blocks("resource") {
		typ, name := b.Labels[0], b.Labels[1]
		an, required := nameAttrs[typ]
		if !required {
			an = "name"
		}
		if required && attr(b, an) == nil && attr(b, "name_prefix") == nil {
			p.add("%s.%s (%s) sets no %s: AWS would name it, outside memo-<workspace>-<role>", typ, name, where(b), an)
		}
		for _, a := range []string{an, "name_prefix"} {
			if x := attr(b, a); x != nil && !refersTo(x, "local.prefix") && !refersTo(x, "local.names") {
				p.add("%s.%s %s = %s is not built from local.prefix (or local.names)", typ, name, a, m.text(x))
			}
		}
	}
	return p
}

// checkNamesFromWorkspace: in the plan of each workspace, every planned
// resource's name starts with memo-<workspace>- (log groups:
// /aws/lambda/memo-<workspace>-), and the resources of nameAttrs' types
// have one.
func checkNamesFromWorkspace(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default", "dev", "prod", "policy") {
		prefix := naming.Prefix + "-" + pl.Workspace + "-"
		for _, addr := range sortedKeys(pl.After) {
			typ := addr[:strings.Index(addr, ".")]
			an, required := nameAttrs[typ]
			if !required {
				an = "name"
			}
			r := pl.After[addr]
			named := false
			for _, a := range []string{an, "name_prefix"} {
				v, ok := r[a].(string)
				if !ok {
					continue
				}
				named = true
				if !strings.HasPrefix(strings.TrimPrefix(v, "/aws/lambda/"), prefix) {
					p.add("plan %s: %s %s is %q, want %s<role>", pl.Name, addr, a, v, prefix)
				}
			}
			if required && !named {
				p.add("plan %s: %s has no %s: AWS would name it, outside memo-<workspace>-<role>", pl.Name, addr, an)
			}
		}
	}
	return p
}

// checkNamesMatchGo: the names Terraform plans in each workspace are the
// ones internal/pipeline/naming gives the Go code (the stand-in provider
// reports account testAccount).
func checkNamesMatchGo(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "dev", "prod", "policy") {
		want := naming.For(pl.Workspace, testAccount)
		for _, n := range []struct{ addr, attr, want string }{
			{"aws_s3_bucket.batches", "bucket", want.Bucket},
			{"aws_dynamodb_table.results", "name", want.Table},
			{"aws_dynamodb_table.batches", "name", want.Batches},
			{"aws_sqs_queue.ops", "name", want.Queue},
			{"aws_sqs_queue.dlq", "name", want.DLQ},
			{"aws_lambda_function.splitter", "function_name", want.Splitter},
			{"aws_lambda_function.compute", "function_name", want.Compute},
		} {
			r := pl.resource(&p, n.addr)
			if r == nil {
				continue
			}
			if got := getStr(r, n.attr); got != n.want {
				p.add("plan %s: %s is named %q in workspace %s of account %s; internal/pipeline/naming says %q", pl.Name, n.addr, got, pl.Workspace, testAccount, n.want)
			}
		}
	}
	return p
}

// checkPrefixesMatchGo: the object key prefixes are naming's.
func checkPrefixesMatchGo(c *Config) []string {
	var p problems
	e := env(&p, c.Pipeline, testWorkspace, nil)
	if e == nil {
		return p
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
