package policy

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// An invariant is one property of terraform/ that memo relies on. check
// returns what breaks it, one message per problem.
type invariant struct {
	name  string
	check func(c *Config) []string
}

// invariants is the policy. Each has a breakage case in policy_test.go.
var invariants = []invariant{
	{"expressions-evaluate", checkExpressionsEvaluate},
	{"visibility-derived", checkVisibilityDerived},
	{"redrive-policy", checkRedrivePolicy},
	{"report-batch-item-failures", checkReportBatchItemFailures},
	{"esm-config", checkESMConfig},
	{"notification-filter", checkNotificationFilter},
	{"iam-no-wildcards", checkIAMNoWildcards},
	{"iam-exact-grants", checkIAMExactGrants},
	{"names-from-workspace", checkNamesFromWorkspace},
	{"names-match-go", checkNamesMatchGo},
	{"workspace-validated", checkWorkspaceValidated},
	{"encryption-at-rest", checkEncryptionAtRest},
	{"bucket-public-access-blocked", checkPublicAccessBlocked},
	{"bucket-tls-only", checkBucketTLSOnly},
	{"retention", checkRetention},
	{"twin-defaults", checkTwinDefaults},
	{"root-passes-through", checkRootPassesThrough},
	{"variables-documented", checkVariablesDocumented},
	{"lambda-config", checkLambdaConfig},
	{"env-matches-go", checkEnvMatchesGo},
	{"results-table", checkResultsTable},
	{"outputs", checkOutputs},
	{"alarms", checkAlarms},
	{"dashboard", checkDashboard},
	{"env-tfvars", checkEnvTfvars},
	{"readme-tables", checkReadmeTables},
	{"backend-example", checkBackendExample},
	{"tfsec-ignores-reasoned", checkTfsecIgnores},
}

// twinDefaults are the local twin's defaults. The Terraform defaults must
// equal them, so that the twin behaves like a deployed pipeline.
var twinDefaults = map[string]float64{
	"compute_batch_size":              local.DefaultBatchSize,
	"compute_batching_window_seconds": local.DefaultBatchingWindow.Seconds(),
	"max_receive_count":               local.DefaultMaxReceiveCount,
	"compute_timeout_seconds":         local.DefaultComputeTimeout.Seconds(),
	"splitter_timeout_seconds":        local.DefaultSplitterTimeout.Seconds(),
	"split_chunk_ops":                 local.DefaultChunkOps,
}

// visibilityFactor is the twin's too: the ops queue's visibility timeout
// is this many times the compute timeout.
const visibilityFactor = local.VisibilityFactor

// problems collects messages.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// env returns an evaluation environment of m, or records why there is none.
func env(p *problems, m *Module, ws string, vars map[string]cty.Value) *Env {
	e, err := m.NewEnv(ws, vars)
	if err != nil {
		p.add("cannot evaluate terraform/%s: %v", m.Dir, err)
		return nil
	}
	return e
}

func num(f float64) cty.Value { return cty.NumberFloatVal(f) }

// resource returns the resource or records that it is missing.
func resource(p *problems, m *Module, typ, name string) *hclsyntax.Block {
	b := m.Resource(typ, name)
	if b == nil {
		p.add("terraform/%s has no resource %s.%s", m.Dir, typ, name)
	}
	return b
}

// ph is the placeholder the evaluator gives a resource attribute.
func ph(addr string) string { return "<" + addr + ">" }

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

func checkVisibilityDerived(c *Config) []string {
	var p problems
	m := c.Pipeline
	q := resource(&p, m, "aws_sqs_queue", "ops")
	fn := resource(&p, m, "aws_lambda_function", "compute")
	if q == nil || fn == nil {
		return p
	}
	vt := attr(q, "visibility_timeout_seconds")
	if vt == nil {
		p.add("aws_sqs_queue.ops has no visibility_timeout_seconds (the 30 s SQS default is below 6 x the compute timeout)")
		return p
	}
	if isLiteral(vt) {
		p.add("aws_sqs_queue.ops visibility_timeout_seconds is typed (%s): derive it from var.compute_timeout_seconds", m.text(vt))
	}
	if isLiteral(attr(fn, "timeout")) {
		p.add("aws_lambda_function.compute timeout is typed (%s): use var.compute_timeout_seconds", m.text(attr(fn, "timeout")))
	}
	for _, s := range []struct{ timeout, window float64 }{{30, 1}, {37, 3}, {1, 0}, {900, 300}} {
		e := env(&p, m, testWorkspace, map[string]cty.Value{
			"compute_timeout_seconds":         num(s.timeout),
			"compute_batching_window_seconds": num(s.window),
		})
		if e == nil {
			return p
		}
		ft, err := e.EvalNumber(attr(fn, "timeout"), nil)
		if err != nil {
			p.add("compute timeout: %v", err)
			continue
		}
		if ft != s.timeout {
			p.add("with compute_timeout_seconds = %v the compute function's timeout is %v s", s.timeout, ft)
		}
		got, err := e.EvalNumber(vt, nil)
		if err != nil {
			p.add("visibility timeout: %v", err)
			continue
		}
		if want := visibilityFactor * ft; got != want {
			p.add("with a compute timeout of %v s (batching window %v s) the ops queue's visibility timeout is %v s, want %v x timeout = %v s", ft, s.window, got, visibilityFactor, want)
		}
		if got > 43200 {
			p.add("a visibility timeout of %v s exceeds the SQS maximum of 43200 s", got)
		}
	}
	return p
}

func checkRedrivePolicy(c *Config) []string {
	var p problems
	m := c.Pipeline
	q := resource(&p, m, "aws_sqs_queue", "ops")
	resource(&p, m, "aws_sqs_queue", "dlq")
	if q == nil {
		return p
	}
	rp := attr(q, "redrive_policy")
	if rp == nil {
		p.add("aws_sqs_queue.ops has no redrive_policy: failing ops would be retried until the retention period ends")
		return p
	}
	for _, n := range []float64{5, 7} {
		e := env(&p, m, testWorkspace, map[string]cty.Value{"max_receive_count": num(n)})
		if e == nil {
			return p
		}
		s, err := e.EvalString(rp, nil)
		if err != nil {
			p.add("redrive_policy: %v", err)
			return p
		}
		var pol struct {
			DeadLetterTargetArn string
			MaxReceiveCount     json.Number
		}
		if err := json.Unmarshal([]byte(s), &pol); err != nil {
			p.add("redrive_policy is not JSON: %v", err)
			return p
		}
		if pol.DeadLetterTargetArn != ph("aws_sqs_queue.dlq.arn") {
			p.add("redrive_policy deadLetterTargetArn is %q, want aws_sqs_queue.dlq.arn", pol.DeadLetterTargetArn)
		}
		if pol.MaxReceiveCount.String() != fmt.Sprint(n) {
			p.add("with max_receive_count = %v the redrive policy's maxReceiveCount is %q: use var.max_receive_count", n, pol.MaxReceiveCount)
		}
	}
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	allow := m.Blocks("resource", "aws_sqs_queue_redrive_allow_policy")
	if len(allow) != 1 {
		p.add("want one aws_sqs_queue_redrive_allow_policy (on the DLQ), have %d", len(allow))
		return p
	}
	if !refersTo(attr(allow[0], "queue_url"), "aws_sqs_queue.dlq") {
		p.add("the redrive allow policy is not on aws_sqs_queue.dlq (%s)", m.text(attr(allow[0], "queue_url")))
	}
	s, err := e.EvalString(attr(allow[0], "redrive_allow_policy"), nil)
	if err != nil {
		p.add("redrive_allow_policy: %v", err)
		return p
	}
	var ap struct {
		RedrivePermission string
		SourceQueueArns   []string
	}
	if err := json.Unmarshal([]byte(s), &ap); err != nil {
		p.add("redrive_allow_policy is not JSON: %v", err)
		return p
	}
	if ap.RedrivePermission != "byQueue" || len(ap.SourceQueueArns) != 1 || ap.SourceQueueArns[0] != ph("aws_sqs_queue.ops.arn") {
		p.add("the DLQ's redrive allow policy must be byQueue for the ops queue only, is %s", s)
	}
	return p
}

// theESM returns the one event source mapping of the ops queue (to
// compute); the chunk queue's has its own checks (chunks_test.go).
func theESM(p *problems, m *Module) *hclsyntax.Block {
	var esms []*hclsyntax.Block
	for _, b := range m.Blocks("resource", "aws_lambda_event_source_mapping") {
		if refersTo(attr(b, "event_source_arn"), "aws_sqs_queue.ops") {
			esms = append(esms, b)
		}
	}
	if len(esms) != 1 {
		p.add("want one aws_lambda_event_source_mapping (ops queue -> compute), have %d", len(esms))
		return nil
	}
	return esms[0]
}

func checkReportBatchItemFailures(c *Config) []string {
	var p problems
	m := c.Pipeline
	esm := theESM(&p, m)
	e := env(&p, m, testWorkspace, nil)
	if esm == nil || e == nil {
		return p
	}
	types, err := e.EvalStrings(attr(esm, "function_response_types"), nil)
	if err != nil {
		p.add("function_response_types: %v", err)
	}
	found := false
	for _, t := range types {
		found = found || t == "ReportBatchItemFailures"
	}
	if !found {
		p.add("the event source mapping's function_response_types is %q: without ReportBatchItemFailures Lambda ignores compute's partial batch response", types)
	}
	return p
}

func checkESMConfig(c *Config) []string {
	var p problems
	m := c.Pipeline
	esm := theESM(&p, m)
	if esm == nil {
		return p
	}
	if !refersTo(attr(esm, "event_source_arn"), "aws_sqs_queue.ops.arn") {
		p.add("the event source mapping does not read aws_sqs_queue.ops (%s)", m.text(attr(esm, "event_source_arn")))
	}
	if !refersTo(attr(esm, "function_name"), "aws_lambda_function.compute") {
		p.add("the event source mapping does not invoke aws_lambda_function.compute (%s)", m.text(attr(esm, "function_name")))
	}
	want := map[string]float64{"compute_batch_size": 77, "compute_batching_window_seconds": 3, "compute_max_concurrency": 9}
	vars := map[string]cty.Value{}
	for k, v := range want {
		vars[k] = num(v)
	}
	e := env(&p, m, testWorkspace, vars)
	if e == nil {
		return p
	}
	sc := nested(esm, "scaling_config")
	got := map[string]hclsyntax.Expression{
		"compute_batch_size":              attr(esm, "batch_size"),
		"compute_batching_window_seconds": attr(esm, "maximum_batching_window_in_seconds"),
	}
	if len(sc) == 1 {
		got["compute_max_concurrency"] = attr(sc[0], "maximum_concurrency")
	} else {
		p.add("the event source mapping has no scaling_config: nothing bounds compute's concurrency and the table's write rate")
	}
	for _, k := range sortedKeys(got) {
		v, err := e.EvalNumber(got[k], nil)
		if err != nil || v != want[k] {
			p.add("with %s = %v the event source mapping uses %s (%v): set it from the variable", k, want[k], m.text(got[k]), err)
		}
	}
	// Above 10 messages per batch, SQS mappings need a batching window.
	for _, s := range []struct {
		size, window float64
		ok           bool
	}{{100, 0, false}, {100, 1, true}, {10, 0, true}} {
		e := env(&p, m, testWorkspace, map[string]cty.Value{"compute_batch_size": num(s.size), "compute_batching_window_seconds": num(s.window)})
		if e == nil {
			return p
		}
		ok := true
		for _, lc := range nested(esm, "lifecycle") {
			for _, pc := range nested(lc, "precondition") {
				v, err := e.EvalBool(attr(pc, "condition"), nil)
				if err != nil {
					p.add("precondition: %v", err)
				}
				ok = ok && v
			}
		}
		if ok != s.ok {
			p.add("batch size %v with a batching window of %v s: the mapping's preconditions accept it = %v, want %v", s.size, s.window, ok, s.ok)
		}
	}
	return p
}

func checkNotificationFilter(c *Config) []string {
	var p problems
	m := c.Pipeline
	ns := m.Blocks("resource", "aws_s3_bucket_notification")
	if len(ns) != 1 {
		p.add("want one aws_s3_bucket_notification, have %d", len(ns))
		return p
	}
	n := ns[0]
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	if !refersTo(attr(n, "bucket"), "aws_s3_bucket.batches") {
		p.add("the notification is not on aws_s3_bucket.batches (%s)", m.text(attr(n, "bucket")))
	}
	for _, other := range []string{"queue", "topic"} {
		if len(nested(n, other)) > 0 || len(dynamics(n, other)) > 0 {
			p.add("the notification has a %s destination: only the splitter may consume uploads", other)
		}
	}
	parts, err := e.Nested(Part{Body: n.Body}, "lambda_function")
	if err != nil {
		p.add("lambda_function blocks: %v", err)
		return p
	}
	got := map[string]bool{}
	for _, lf := range parts {
		arn, err := e.EvalString(lf.Attr("lambda_function_arn"), lf.Vars)
		if err != nil || arn != ph("aws_lambda_function.splitter.arn") {
			p.add("a notification invokes %q, not the splitter (%v)", arn, err)
		}
		events, err := e.EvalStrings(lf.Attr("events"), lf.Vars)
		if err != nil || len(events) == 0 {
			p.add("a notification has no events (%v)", err)
		}
		for _, ev := range events {
			if !strings.HasPrefix(ev, "s3:ObjectCreated:") {
				p.add("a notification fires on %q: only object creation starts a batch", ev)
			}
		}
		prefix, _ := e.EvalString(lf.Attr("filter_prefix"), lf.Vars)
		suffix, _ := e.EvalString(lf.Attr("filter_suffix"), lf.Vars)
		if strings.HasPrefix(naming.ReportPrefix, prefix) {
			p.add("the notification filter prefix %q matches the splitter's own %s objects: it would retrigger itself", prefix, naming.ReportPrefix)
		}
		got[prefix+"*"+suffix] = true
	}
	want := map[string]bool{naming.BatchPrefix + "*.json": true, naming.BatchPrefix + "*.jsonl": true}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want)) {
		p.add("the splitter is notified for %v, want exactly %v (prefix %s, suffixes .json and .jsonl)", sortedKeys(got), sortedKeys(want), naming.BatchPrefix)
	}

	// depends_on the permission that lets S3 invoke the splitter.
	var perm *hclsyntax.Block
	for _, r := range refs(attr(n, "depends_on")) {
		parts := strings.Split(r, ".")
		if len(parts) == 2 && parts[0] == "aws_lambda_permission" {
			perm = m.Resource(parts[0], parts[1])
		}
	}
	if perm == nil {
		p.add("the notification does not depend_on an aws_lambda_permission: S3 validates the destination when it is written, and apply fails if the permission does not exist yet")
		return p
	}
	if !refersTo(attr(perm, "function_name"), "aws_lambda_function.splitter") {
		p.add("the notification's permission is not for the splitter (%s)", m.text(attr(perm, "function_name")))
	}
	if pr, _ := e.EvalString(attr(perm, "principal"), nil); pr != "s3.amazonaws.com" {
		p.add("the notification's permission has principal %q, want s3.amazonaws.com", pr)
	}
	if a, _ := e.EvalString(attr(perm, "action"), nil); a != "lambda:InvokeFunction" {
		p.add("the notification's permission allows %q, want lambda:InvokeFunction", a)
	}
	if !refersTo(attr(perm, "source_arn"), "aws_s3_bucket.batches.arn") {
		p.add("the notification's permission is not limited to the batch bucket (source_arn %s)", m.text(attr(perm, "source_arn")))
	}
	return p
}

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

// featureVars switches every optional part of the module on.
var featureVars = map[string]cty.Value{
	"xray_tracing":       cty.True,
	"create_alarm_topic": cty.True,
	"ttl_attribute":      cty.StringVal("expires_at"),
}

// xrayWriteActions support no resource-level permissions: "*" is the only
// resource AWS accepts for them.
var xrayWriteActions = map[string]bool{"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true}

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
							allX = allX && xrayWriteActions[a]
						}
						if !allX {
							p.add("%s: resource \"*\" for %v (only X-Ray's write actions, which have no resource-level permissions, may use it)", st.where, st.actions)
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
		),
		"compute": append(logs("compute"),
			"dynamodb:PutItem on "+table,
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

// forBucket returns the resources of type typ whose bucket attribute refers
// to aws_s3_bucket.name.
func forBucket(m *Module, typ, name string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.Blocks("resource", typ) {
		if refersTo(attr(b, "bucket"), "aws_s3_bucket."+name) {
			out = append(out, b)
		}
	}
	return out
}

func checkEncryptionAtRest(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	for _, b := range m.Blocks("resource", "aws_s3_bucket") {
		ok := false
		for _, sse := range forBucket(m, "aws_s3_bucket_server_side_encryption_configuration", b.Labels[1]) {
			for _, r := range nested(sse, "rule") {
				for _, d := range nested(r, "apply_server_side_encryption_by_default") {
					alg, _ := e.EvalString(attr(d, "sse_algorithm"), nil)
					ok = ok || alg == "AES256" || alg == "aws:kms" || alg == "aws:kms:dsse"
				}
			}
		}
		if !ok {
			p.add("aws_s3_bucket.%s has no server-side encryption configuration (AES256 or aws:kms)", b.Labels[1])
		}
	}
	for _, b := range m.Blocks("resource", "aws_sqs_queue") {
		managed, err := e.EvalBool(attr(b, "sqs_managed_sse_enabled"), nil)
		kms, _ := e.Eval(attr(b, "kms_master_key_id"), nil)
		if (err != nil || !managed) && kms.IsNull() {
			p.add("aws_sqs_queue.%s is not encrypted: set sqs_managed_sse_enabled = true or kms_master_key_id", b.Labels[1])
		}
	}
	for _, b := range m.Blocks("resource", "aws_dynamodb_table") {
		ok := false
		for _, s := range nested(b, "server_side_encryption") {
			ok, _ = e.EvalBool(attr(s, "enabled"), nil)
		}
		if !ok {
			p.add("aws_dynamodb_table.%s: server_side_encryption must be enabled", b.Labels[1])
		}
	}
	return p
}

func checkPublicAccessBlocked(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	for _, b := range m.Blocks("resource", "aws_s3_bucket") {
		pabs := forBucket(m, "aws_s3_bucket_public_access_block", b.Labels[1])
		if len(pabs) != 1 {
			p.add("aws_s3_bucket.%s has %d public access blocks, want 1", b.Labels[1], len(pabs))
		}
		for _, pab := range pabs {
			for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				if v, err := e.EvalBool(attr(pab, a), nil); err != nil || !v {
					p.add("aws_s3_bucket.%s: public access block %s must be true", b.Labels[1], a)
				}
			}
		}
		owned := false
		for _, oc := range forBucket(m, "aws_s3_bucket_ownership_controls", b.Labels[1]) {
			for _, r := range nested(oc, "rule") {
				v, _ := e.EvalString(attr(r, "object_ownership"), nil)
				owned = owned || v == "BucketOwnerEnforced"
			}
		}
		if !owned {
			p.add("aws_s3_bucket.%s: ownership controls must be BucketOwnerEnforced (ACLs disabled)", b.Labels[1])
		}
	}
	return p
}

func checkBucketTLSOnly(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	for _, b := range m.Blocks("resource", "aws_s3_bucket") {
		name := b.Labels[1]
		arn := ph("aws_s3_bucket." + name + ".arn")
		ok := false
		for _, bp := range forBucket(m, "aws_s3_bucket_policy", name) {
			for _, r := range refs(attr(bp, "policy")) {
				parts := strings.Split(r, ".")
				if len(parts) < 3 || parts[0] != "data" {
					continue
				}
				doc := m.Data(parts[1], parts[2])
				if doc == nil {
					continue
				}
				sts, err := policyStatements(e, doc)
				if err != nil {
					p.add("%v", err)
					continue
				}
				for _, st := range sts {
					if st.effect != "Deny" || !contains(st.principals, "*:*") && !contains(st.principals, "AWS:*") {
						continue
					}
					if !contains(st.actions, "s3:*") || !contains(st.resources, arn) || !contains(st.resources, arn+"/*") {
						continue
					}
					if contains(st.conditions, "Bool aws:SecureTransport false") {
						ok = true
					}
				}
			}
		}
		if !ok {
			p.add("aws_s3_bucket.%s has no bucket policy denying s3:* on the bucket and its objects to everyone when aws:SecureTransport is false", name)
		}
	}
	return p
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func checkRetention(c *Config) []string {
	var p problems
	m := c.Pipeline
	ops := resource(&p, m, "aws_sqs_queue", "ops")
	dlq := resource(&p, m, "aws_sqs_queue", "dlq")
	if ops == nil || dlq == nil {
		return p
	}
	e := env(&p, m, testWorkspace, nil)
	e2 := env(&p, m, testWorkspace, map[string]cty.Value{"queue_retention_seconds": num(7200)})
	if e == nil || e2 == nil {
		return p
	}
	dr, err := e.EvalNumber(attr(dlq, "message_retention_seconds"), nil)
	if err != nil || dr != 1209600 {
		p.add("the DLQ must keep messages 14 days (1209600 s, the SQS maximum), keeps %v s (%v)", dr, err)
	}
	or, err := e.EvalNumber(attr(ops, "message_retention_seconds"), nil)
	if err != nil || or > dr {
		p.add("the ops queue keeps messages %v s, longer than its DLQ (%v s): moved messages keep their enqueue time and would expire in the DLQ first (%v)", or, dr, err)
	}
	if or2, err := e2.EvalNumber(attr(ops, "message_retention_seconds"), nil); err != nil || or2 != 7200 {
		p.add("with queue_retention_seconds = 7200 the ops queue keeps messages %v s: use the variable (%v)", or2, err)
	}
	for _, lg := range m.Blocks("resource", "aws_cloudwatch_log_group") {
		if attr(lg, "retention_in_days") == nil {
			p.add("aws_cloudwatch_log_group.%s keeps logs forever: set retention_in_days", lg.Labels[1])
			continue
		}
		d, err := e.EvalNumber(attr(lg, "retention_in_days"), nil)
		if err != nil || d < 1 {
			p.add("aws_cloudwatch_log_group.%s keeps logs forever: set retention_in_days (%v)", lg.Labels[1], err)
		}
	}
	for _, fn := range m.Blocks("resource", "aws_lambda_function") {
		lcs := nested(fn, "logging_config")
		if len(lcs) != 1 || !refersTo(attr(lcs[0], "log_group"), "aws_cloudwatch_log_group") {
			p.add("aws_lambda_function.%s: logging_config.log_group must name an aws_cloudwatch_log_group of this module, so that the group (with its retention) exists before the function logs", fn.Labels[1])
		}
	}
	// Lifecycle: batches and reports expire, old versions and abandoned
	// multipart uploads are cleaned up.
	lcs := forBucket(m, "aws_s3_bucket_lifecycle_configuration", "batches")
	if len(lcs) != 1 {
		p.add("the batch bucket needs one lifecycle configuration, has %d", len(lcs))
		return p
	}
	expired := map[string]bool{}
	noncurrent, multipart := false, false
	rules, err := e.Nested(Part{Body: lcs[0].Body}, "rule")
	if err != nil {
		p.add("lifecycle rules: %v", err)
	}
	for _, r := range rules {
		if st, _ := e.EvalString(r.Attr("status"), r.Vars); st != "Enabled" {
			continue
		}
		prefix := ""
		fs, _ := e.Nested(r, "filter")
		for _, f := range fs {
			prefix, _ = e.EvalString(f.Attr("prefix"), f.Vars)
		}
		for _, x := range nestedParts(e, r, "expiration") {
			if x.Attr("days") != nil {
				expired[prefix] = true
			}
		}
		noncurrent = noncurrent || len(nestedParts(e, r, "noncurrent_version_expiration")) > 0
		multipart = multipart || len(nestedParts(e, r, "abort_incomplete_multipart_upload")) > 0
	}
	for _, prefix := range []string{naming.BatchPrefix, naming.ReportPrefix} {
		if !expired[prefix] {
			p.add("no lifecycle rule expires objects under %s", prefix)
		}
	}
	if !noncurrent {
		p.add("no lifecycle rule expires noncurrent versions: the versioned bucket would keep every overwritten batch")
	}
	if !multipart {
		p.add("no lifecycle rule aborts incomplete multipart uploads")
	}
	return p
}

func nestedParts(e *Env, p Part, typ string) []Part {
	ps, _ := e.Nested(p, typ)
	return ps
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
			"MEMO_CHUNK_OPS":        "50000",
			"MEMO_SEND_CONCURRENCY": "8",
			"MEMO_WORKSPACE":        testWorkspace,
			"MEMO_LOG_LEVEL":        "info",
		},
		"compute": {
			"MEMO_TABLE":     ph("aws_dynamodb_table.results.name"),
			"MEMO_WORKSPACE": testWorkspace,
			"MEMO_LOG_LEVEL": "info",
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
		if fmt.Sprint(got) != fmt.Sprint(wantEnv[fn]) {
			p.add("aws_lambda_function.%s environment is %v, want %v", fn, got, wantEnv[fn])
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

func checkResultsTable(c *Config) []string {
	var p problems
	m := c.Pipeline
	t := resource(&p, m, "aws_dynamodb_table", "results")
	if t == nil {
		return p
	}
	type tableView struct {
		hash, billing string
		attrs         map[string]string
		gsis          []string
		pitr          bool
		protected     bool
		ttl           string
	}
	view := func(ws string, vars map[string]cty.Value) *tableView {
		e := env(&p, m, ws, vars)
		if e == nil {
			return nil
		}
		v := &tableView{attrs: map[string]string{}}
		v.hash, _ = e.EvalString(attr(t, "hash_key"), nil)
		v.billing, _ = e.EvalString(attr(t, "billing_mode"), nil)
		root := Part{Body: t.Body}
		for _, a := range nestedParts(e, root, "attribute") {
			n, _ := e.EvalString(a.Attr("name"), a.Vars)
			ty, _ := e.EvalString(a.Attr("type"), a.Vars)
			v.attrs[n] = ty
		}
		for _, g := range nestedParts(e, root, "global_secondary_index") {
			n, _ := e.EvalString(g.Attr("name"), g.Vars)
			h, _ := e.EvalString(g.Attr("hash_key"), g.Vars)
			pt, _ := e.EvalString(g.Attr("projection_type"), g.Vars)
			nk, _ := e.EvalStrings(g.Attr("non_key_attributes"), g.Vars)
			v.gsis = append(v.gsis, fmt.Sprintf("%s hash=%s %s %v", n, h, pt, nk))
		}
		for _, x := range nestedParts(e, root, "point_in_time_recovery") {
			v.pitr, _ = e.EvalBool(x.Attr("enabled"), x.Vars)
		}
		v.protected, _ = e.EvalBool(attr(t, "deletion_protection_enabled"), nil)
		for _, x := range nestedParts(e, root, "ttl") {
			if on, _ := e.EvalBool(x.Attr("enabled"), x.Vars); on {
				v.ttl, _ = e.EvalString(x.Attr("attribute_name"), x.Vars)
			}
		}
		return v
	}
	d := view(testWorkspace, nil)
	if d == nil {
		return p
	}
	if d.billing != "PAY_PER_REQUEST" {
		p.add("the results table bills %q, want PAY_PER_REQUEST", d.billing)
	}
	if d.hash != "name" || d.attrs["name"] != "S" {
		p.add("the results table's hash key is %q (attributes %v), want name of type S", d.hash, d.attrs)
	}
	wantGSI := fmt.Sprintf("%s hash=batch INCLUDE [status]", naming.For(testWorkspace, testAccount).BatchIndex)
	if len(d.gsis) != 1 || d.gsis[0] != wantGSI || d.attrs["batch"] != "S" {
		p.add("by default the results table's indexes are %v (attributes %v), want [%s] with batch of type S", d.gsis, d.attrs, wantGSI)
	}
	if off := view(testWorkspace, map[string]cty.Value{"enable_batch_index": cty.False}); off != nil && (len(off.gsis) != 0 || off.attrs["batch"] != "") {
		p.add("with enable_batch_index = false the table still has indexes %v or the batch attribute", off.gsis)
	}
	if !d.pitr {
		p.add("point-in-time recovery is off by default")
	}
	if d.ttl != "" {
		p.add("TTL is on by default (attribute %q), want off", d.ttl)
	}
	if on := view(testWorkspace, map[string]cty.Value{"ttl_attribute": cty.StringVal("expires_at")}); on != nil && on.ttl != "expires_at" {
		p.add("with ttl_attribute = expires_at the table's TTL attribute is %q", on.ttl)
	}
	for _, s := range []struct {
		ws   string
		vars map[string]cty.Value
		want bool
	}{
		{"prod", map[string]cty.Value{"workspace": cty.StringVal("prod")}, true},
		{"dev", map[string]cty.Value{"workspace": cty.StringVal("dev")}, false},
		{"dev", map[string]cty.Value{"workspace": cty.StringVal("dev"), "deletion_protection": cty.True}, true},
		{"prod", map[string]cty.Value{"workspace": cty.StringVal("prod"), "deletion_protection": cty.False}, false},
	} {
		set := "the default"
		if dp, ok := s.vars["deletion_protection"]; ok {
			set = valueString(dp)
		}
		if v := view(s.ws, s.vars); v != nil && v.protected != s.want {
			p.add("workspace %s with deletion_protection = %s: the table's deletion protection is %v, want %v", s.ws, set, v.protected, s.want)
		}
	}
	return p
}

// requiredOutputs are the root outputs memo --from-terraform, Terratest and
// the README read, with what each must evaluate to in the pipeline module.
var requiredOutputs = map[string]string{
	"region":            `"` + testRegion + `"`,
	"account_id":        `"` + testAccount + `"`,
	"workspace":         `"` + testWorkspace + `"`,
	"bucket":            `"` + ph("aws_s3_bucket.batches.id") + `"`,
	"table":             `"` + ph("aws_dynamodb_table.results.name") + `"`,
	"batch_index":       `"` + naming.For(testWorkspace, testAccount).BatchIndex + `"`,
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
	off := env(&p, c.Pipeline, testWorkspace, map[string]cty.Value{"enable_batch_index": cty.False})
	if re == nil || me == nil || off == nil {
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
	if mo := mod["batch_index"]; mo != nil {
		if v, err := off.Eval(attr(mo, "value"), nil); err != nil || !v.IsNull() {
			p.add("with enable_batch_index = false output batch_index is %s, want null", valueString(v))
		}
	}
	return p
}

func checkAlarms(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, map[string]cty.Value{"create_alarm_topic": cty.True})
	if e == nil {
		return p
	}
	got := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_cloudwatch_metric_alarm") {
		insts, err := e.Instances(b)
		if err != nil {
			p.add("%v", err)
			continue
		}
		for _, in := range insts {
			ns, _ := e.EvalString(in.Attr("namespace"), in.Vars)
			metric, _ := e.EvalString(in.Attr("metric_name"), in.Vars)
			dims, _ := e.Eval(in.Attr("dimensions"), in.Vars)
			got[ns+" "+metric+" "+valueString(dims)] = true
			actions, err := e.EvalStrings(in.Attr("alarm_actions"), in.Vars)
			if err != nil || !contains(actions, ph("aws_sns_topic.alarms.arn")) {
				p.add("alarm %s %s does not notify the alarm topic when create_alarm_topic is set (%v)", ns, metric, actions)
			}
		}
	}
	for _, want := range []string{
		`AWS/SQS ApproximateNumberOfMessagesVisible [QueueName="<aws_sqs_queue.dlq.name>"]`,
		`AWS/SQS ApproximateAgeOfOldestMessage [QueueName="<aws_sqs_queue.ops.name>"]`,
		`AWS/Lambda Errors [FunctionName="<aws_lambda_function.splitter.function_name>"]`,
		`AWS/Lambda Errors [FunctionName="<aws_lambda_function.compute.function_name>"]`,
		`AWS/Lambda Throttles [FunctionName="<aws_lambda_function.splitter.function_name>"]`,
		`AWS/Lambda Throttles [FunctionName="<aws_lambda_function.compute.function_name>"]`,
		// compute's own metric, read with both dimensions it is published with.
		`memo BatchItemFailures [function="compute", workspace="` + testWorkspace + `"]`,
	} {
		if !got[want] {
			p.add("no alarm on %s", want)
		}
	}
	return p
}

// memoMetrics are the EMF metrics the functions publish (namespace memo,
// dimensions workspace and function), as "function metric".
var memoMetrics = []string{"splitter OpsEnqueued", "splitter OpsRejected", "splitter Retries",
	"compute OpsOk", "compute OpsError", "compute Superseded", "compute BatchItemFailures", "compute Retries"}

func checkDashboard(c *Config) []string {
	var p problems
	m := c.Pipeline
	ds := m.Blocks("resource", "aws_cloudwatch_dashboard")
	if len(ds) != 1 {
		p.add("want one aws_cloudwatch_dashboard, have %d", len(ds))
		return p
	}
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	body, err := e.EvalString(attr(ds[0], "dashboard_body"), nil)
	if err != nil {
		p.add("dashboard_body: %v", err)
		return p
	}
	var d struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		p.add("dashboard_body is not dashboard JSON: %v", err)
		return p
	}
	shown := map[string]bool{}
	for _, w := range d.Widgets {
		for _, mt := range w.Properties.Metrics {
			var parts []string
			for _, x := range mt {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			shown[strings.Join(parts, " ")] = true
		}
	}
	want := []string{
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName " + ph("aws_sqs_queue.ops.name"),
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName " + ph("aws_sqs_queue.dlq.name"),
	}
	for _, fm := range memoMetrics {
		fn, mt, _ := strings.Cut(fm, " ")
		want = append(want, "memo "+mt+" workspace "+testWorkspace+" function "+fn)
	}
	for _, w := range want {
		if !shown[w] {
			keys := sortedKeys(shown)
			p.add("the dashboard does not show %q (it shows %q)", w, keys)
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
	if lockTable == "" && !lockFile {
		p.add("terraform/%s: the s3 backend must lock (dynamodb_table for Terraform 1.5-1.9, or use_lockfile = true from 1.10)", name)
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

// sortedProblems returns the distinct problems in order, for stable output
// (a check that evaluates several variable sets can find one problem twice).
func sortedProblems(ps []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
