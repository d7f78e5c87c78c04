package policy

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// statement is one IAM policy statement, evaluated.
type statement struct {
	where      string
	effect     string
	actions    []string
	resources  []string
	principals []string // "type:identifier"
	conditions []string // "test variable values"
	negated    bool     // not_actions, not_resources or not_principals
}

// policyStatements evaluates the statements of a data aws_iam_policy_document.
func policyStatements(e *Env, doc *hclsyntax.Block) ([]statement, error) {
	parts, err := e.Nested(Part{Body: doc.Body}, "statement")
	if err != nil {
		return nil, err
	}
	var out []statement
	for _, s := range parts {
		st := statement{where: "data.aws_iam_policy_document." + doc.Labels[1], effect: "Allow"}
		if ef := s.Attr("effect"); ef != nil {
			if st.effect, err = e.EvalString(ef, s.Vars); err != nil {
				return nil, err
			}
		}
		if sid := s.Attr("sid"); sid != nil {
			v, _ := e.EvalString(sid, s.Vars)
			st.where += " statement " + v
		}
		for _, a := range []string{"not_actions", "not_resources"} {
			if s.Attr(a) != nil {
				st.negated = true
			}
		}
		if x := s.Attr("actions"); x != nil {
			if st.actions, err = e.EvalStrings(x, s.Vars); err != nil {
				return nil, err
			}
		}
		if x := s.Attr("resources"); x != nil {
			if st.resources, err = e.EvalStrings(x, s.Vars); err != nil {
				return nil, err
			}
		}
		for _, blk := range []string{"principals", "not_principals"} {
			ps, err := e.Nested(s, blk)
			if err != nil {
				return nil, err
			}
			for _, pp := range ps {
				if blk == "not_principals" {
					st.negated = true
				}
				typ, _ := e.EvalString(pp.Attr("type"), pp.Vars)
				ids, err := e.EvalStrings(pp.Attr("identifiers"), pp.Vars)
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					st.principals = append(st.principals, typ+":"+id)
				}
			}
		}
		cs, err := e.Nested(s, "condition")
		if err != nil {
			return nil, err
		}
		for _, cc := range cs {
			test, _ := e.EvalString(cc.Attr("test"), cc.Vars)
			variable, _ := e.EvalString(cc.Attr("variable"), cc.Vars)
			values, _ := e.EvalStrings(cc.Attr("values"), cc.Vars)
			st.conditions = append(st.conditions, test+" "+variable+" "+strings.Join(values, ","))
		}
		out = append(out, st)
	}
	return out, nil
}

// starActions support no resource-level permissions: "*" is the only
// resource AWS accepts for them (X-Ray's writes, and CloudWatch Logs'
// StopQuery, which memo explain calls on a query it gives up on).
var starActions = map[string]bool{"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "logs:StopQuery": true}

var arnPlaceholder = regexp.MustCompile(`^<(aws_[a-z0-9_]+)\.([a-z0-9_]+)\.arn>(.*)$`)

func allHavePrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if !strings.HasPrefix(s, prefix) {
			return false
		}
	}
	return len(ss) > 0
}

func checkIAMNoWildcards(c *Config) []string {
	var p problems
	m := c.Pipeline
	for _, typ := range []string{"aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_user_policy", "aws_iam_group_policy"} {
		if bs := m.Blocks("resource", typ); len(bs) > 0 {
			p.add("%s %s: attach no managed or shared policies (AWSLambdaBasicExecutionRole grants logs on *); write the statements here", typ, bs[0].Labels[1])
		}
	}
	for _, typ := range []string{"aws_iam_role_policy", "aws_iam_policy"} {
		for _, b := range m.Blocks("resource", typ) {
			if !refersTo(attr(b, "policy"), "data.aws_iam_policy_document") {
				p.add("%s.%s: build the policy with a data aws_iam_policy_document so that it is checked (%s)", typ, b.Labels[1], m.text(attr(b, "policy")))
			}
		}
	}
	for _, b := range m.Blocks("resource", "aws_iam_role") {
		if attr(b, "managed_policy_arns") != nil || len(nested(b, "inline_policy")) > 0 {
			p.add("aws_iam_role.%s: no managed_policy_arns or inline_policy; use aws_iam_role_policy with a policy document", b.Labels[1])
		}
	}
	for _, vars := range []map[string]cty.Value{nil, featureVars} {
		e := env(&p, m, testWorkspace, vars)
		if e == nil {
			return p
		}
		for _, doc := range m.Blocks("data", "aws_iam_policy_document") {
			sts, err := policyStatements(e, doc)
			if err != nil {
				p.add("data.aws_iam_policy_document.%s: %v", doc.Labels[1], err)
				continue
			}
			for _, st := range sts {
				if st.effect != "Allow" {
					continue
				}
				if st.negated {
					p.add("%s: an Allow with not_actions, not_resources or not_principals grants everything else", st.where)
				}
				for _, pr := range st.principals {
					if strings.HasSuffix(pr, ":*") {
						p.add("%s: allows the wildcard principal %q", st.where, pr)
					}
				}
				for _, a := range st.actions {
					if strings.Contains(a, "*") {
						p.add("%s: wildcard action %q", st.where, a)
					}
				}
				for _, r := range st.resources {
					if r == "*" {
						allX := len(st.actions) > 0
						for _, a := range st.actions {
							allX = allX && starActions[a]
						}
						if !allX {
							p.add("%s: resource \"*\" for %v (only X-Ray's write actions and logs:StopQuery, which have no resource-level permissions, may use it)", st.where, st.actions)
						}
						continue
					}
					mm := arnPlaceholder.FindStringSubmatch(r)
					if mm == nil {
						p.add("%s: resource %q is not the ARN of a resource of this module", st.where, r)
						continue
					}
					typ, suffix := mm[1], mm[3]
					switch {
					case suffix == "":
					case typ == "aws_cloudwatch_log_group" && suffix == ":log-stream:*" && allHavePrefix(st.actions, "logs:"):
						// Lambda names the streams of the function's own group.
					case typ == "aws_s3_bucket" && (suffix == "/"+naming.BatchPrefix+"*" || suffix == "/"+naming.ReportPrefix+"*") && allHavePrefix(st.actions, "s3:"):
						// Objects under one prefix of the batch bucket.
					default:
						p.add("%s: resource %q widens an ARN with %q (allowed: %s, %s under the batch bucket, :log-stream:* under a log group)", st.where, r, suffix, naming.BatchPrefix+"*", naming.ReportPrefix+"*")
					}
				}
			}
		}
	}
	return p
}

// grants returns "action on resource" for every Allow in the policies of the
// role that function fn runs as.
func grants(p *problems, m *Module, e *Env, fn string) map[string]bool {
	f := resource(p, m, "aws_lambda_function", fn)
	if f == nil {
		return nil
	}
	role := ""
	for _, r := range refs(attr(f, "role")) {
		if parts := strings.Split(r, "."); len(parts) >= 2 && parts[0] == "aws_iam_role" {
			role = parts[1]
		}
	}
	if role == "" {
		p.add("aws_lambda_function.%s does not run as an aws_iam_role of this module (%s)", fn, m.text(attr(f, "role")))
		return nil
	}
	out := map[string]bool{}
	for _, rp := range m.Blocks("resource", "aws_iam_role_policy") {
		if !refersTo(attr(rp, "role"), "aws_iam_role."+role) {
			continue
		}
		for _, r := range refs(attr(rp, "policy")) {
			parts := strings.Split(r, ".")
			if len(parts) < 3 || parts[0] != "data" || parts[1] != "aws_iam_policy_document" {
				continue
			}
			doc := m.Data(parts[1], parts[2])
			if doc == nil {
				p.add("no data.aws_iam_policy_document.%s", parts[2])
				continue
			}
			sts, err := policyStatements(e, doc)
			if err != nil {
				p.add("%v", err)
				continue
			}
			for _, st := range sts {
				if st.effect != "Allow" {
					continue
				}
				for _, a := range st.actions {
					for _, r := range st.resources {
						out[a+" on "+r] = true
					}
				}
			}
		}
	}
	return out
}

func checkIAMExactGrants(c *Config) []string {
	var p problems
	m := c.Pipeline
	logs := func(fn string) []string {
		g := ph("aws_cloudwatch_log_group."+fn+".arn") + ":log-stream:*"
		return []string{"logs:CreateLogStream on " + g, "logs:PutLogEvents on " + g}
	}
	bucket := ph("aws_s3_bucket.batches.arn")
	ops := ph("aws_sqs_queue.ops.arn")
	chunks := ph("aws_sqs_queue.chunks.arn")
	table := ph("aws_dynamodb_table.results.arn")
	batchesTable := ph("aws_dynamodb_table.batches.arn")
	want := map[string][]string{
		"splitter": append(logs("splitter"),
			"s3:GetObject on "+bucket+"/"+naming.BatchPrefix+"*",
			"s3:GetObjectVersion on "+bucket+"/"+naming.BatchPrefix+"*",
			"s3:PutObject on "+bucket+"/"+naming.ReportPrefix+"*",
			"sqs:SendMessage on "+ops,
			// Chunks (chunks.tf): queue and consume the tasks, read the
			// plans and list the done markers under reports/.
			"sqs:SendMessage on "+chunks,
			"sqs:ReceiveMessage on "+chunks,
			"sqs:DeleteMessage on "+chunks,
			"sqs:GetQueueAttributes on "+chunks,
			"sqs:ChangeMessageVisibility on "+chunks,
			"s3:GetObject on "+bucket+"/"+naming.ReportPrefix+"*",
			"s3:ListBucket on "+bucket,
			// Durable intake (intake.tf): the on-failure destination.
			"sqs:SendMessage on "+ph("aws_sqs_queue.split_failures.arn"),
			// The report mirrored into the batches table.
			"dynamodb:UpdateItem on "+batchesTable,
		),
		"compute": append(logs("compute"),
			"dynamodb:PutItem on "+table,
			// The batch counters.
			"dynamodb:UpdateItem on "+batchesTable,
			"dynamodb:BatchGetItem on "+table,
			"sqs:ReceiveMessage on "+ops,
			"sqs:DeleteMessage on "+ops,
			"sqs:GetQueueAttributes on "+ops,
			"sqs:ChangeMessageVisibility on "+ops,
		),
	}
	xray := []string{"xray:PutTraceSegments on *", "xray:PutTelemetryRecords on *"}
	for _, withXray := range []bool{false, true} {
		e := env(&p, m, testWorkspace, map[string]cty.Value{"xray_tracing": cty.BoolVal(withXray)})
		if e == nil {
			return p
		}
		for _, fn := range sortedKeys(want) {
			w := map[string]bool{}
			for _, g := range want[fn] {
				w[g] = true
			}
			if withXray {
				for _, g := range xray {
					w[g] = true
				}
			}
			got := grants(&p, m, e, fn)
			for _, g := range sortedKeys(w) {
				if !got[g] {
					p.add("the %s role (xray_tracing=%v) lacks %s", fn, withXray, g)
				}
			}
			for _, g := range sortedKeys(got) {
				if !w[g] {
					p.add("the %s role (xray_tracing=%v) grants %s, which it does not need", fn, withXray, g)
				}
			}
		}
	}
	return p
}
