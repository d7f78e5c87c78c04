package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/zclconf/go-cty/cty"

	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
)

// visibilityFactor is the twin's too: the ops queue's visibility timeout
// is this many times the compute timeout.
const visibilityFactor = local.VisibilityFactor

// checkVisibilityDerived: in the plans, the ops queue's visibility timeout
// is visibilityFactor times the compute function's timeout, which is the
// variable's value (policy.tfvars sets 37 s), and within the SQS maximum.
func checkVisibilityDerived(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default", "policy") {
		q := pl.resource(&p, "aws_sqs_queue.ops")
		fn := pl.resource(&p, "aws_lambda_function.compute")
		if q == nil || fn == nil {
			continue
		}
		ft, ok := getNum(fn, "timeout")
		if !ok {
			p.add("plan %s: the compute function has no timeout", pl.Name)
			continue
		}
		if want := policyVars["compute_timeout_seconds"]; pl.Name == "policy" && ft != want {
			p.add("with compute_timeout_seconds = %v the compute function's timeout is %v s: use var.compute_timeout_seconds", want, ft)
		}
		got, ok := getNum(q, "visibility_timeout_seconds")
		if !ok {
			p.add("plan %s: aws_sqs_queue.ops has no visibility_timeout_seconds (the 30 s SQS default is below %v x the compute timeout)", pl.Name, visibilityFactor)
			continue
		}
		if want := visibilityFactor * ft; got != want {
			p.add("plan %s: with a compute timeout of %v s the ops queue's visibility timeout is %v s, want %v x timeout = %v s", pl.Name, ft, got, visibilityFactor, want)
		}
		if got > 43200 {
			p.add("plan %s: a visibility timeout of %v s exceeds the SQS maximum of 43200 s", pl.Name, got)
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

// checkReportBatchItemFailures: the planned event source mapping reports
// batch item failures.
func checkReportBatchItemFailures(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default") {
		esm := pl.resource(&p, "aws_lambda_event_source_mapping.compute")
		if esm == nil {
			continue
		}
		types := getStrs(esm, "function_response_types")
		if !contains(types, "ReportBatchItemFailures") {
			p.add("the event source mapping's function_response_types is %q: without ReportBatchItemFailures Lambda ignores compute's partial batch response", types)
		}
	}
	return p
}

// checkESMWiring: the one event source mapping reads the ops queue and
// invokes compute (references, which a plan shows as unknown ARNs).
func checkESMWiring(c *Config) []string {
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
	return p
}

// checkESMConfig: the planned mapping takes its batch size, batching
// window and maximum concurrency from the variables (policy.tfvars), and
// a batch of more than 10 messages without a batching window fails the
// plan (SQS mappings need a window above 10; the mapping's precondition).
func checkESMConfig(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "policy") {
		esm := pl.resource(&p, "aws_lambda_event_source_mapping.compute")
		if esm == nil {
			continue
		}
		if len(getList(esm, "scaling_config")) != 1 {
			p.add("the event source mapping has no scaling_config: nothing bounds compute's concurrency and the table's write rate")
		}
		for v, path := range map[string][]any{
			"compute_batch_size":              {"batch_size"},
			"compute_batching_window_seconds": {"maximum_batching_window_in_seconds"},
			"compute_max_concurrency":         {"scaling_config", 0, "maximum_concurrency"},
		} {
			got, ok := getNum(esm, path...)
			if want := policyVars[v]; !ok || got != want {
				p.add("with %s = %v the event source mapping plans %v for %v: set it from the variable", v, want, get(esm, path...), path)
			}
		}
	}
	if err, present := ps.failed(&p, "esm-100-no-window"); !present {
	} else if err == nil {
		p.add("compute_batch_size = 100 with compute_batching_window_seconds = 0 plans: the mapping's precondition must refuse it")
	} else if !strings.Contains(errText(err), "needs a batching window") {
		p.add("compute_batch_size = 100 without a batching window fails for another reason: %v", err)
	}
	ps.ok(&p, "esm-10-no-window")
	return p
}

// checkNotificationWiring: one notification, on the batch bucket, only to
// the splitter (ARNs: the plan does not know them), after the permission
// that lets S3 invoke it.
func checkNotificationWiring(c *Config) []string {
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
	for _, lf := range parts {
		arn, err := e.EvalString(lf.Attr("lambda_function_arn"), lf.Vars)
		if err != nil || arn != ph("aws_lambda_function.splitter.arn") {
			p.add("a notification invokes %q, not the splitter (%v)", arn, err)
		}
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
	if !refersTo(attr(perm, "source_arn"), "aws_s3_bucket.batches.arn") {
		p.add("the notification's permission is not limited to the batch bucket (source_arn %s)", m.text(attr(perm, "source_arn")))
	}
	return p
}

// checkNotificationFilter, in the plan: the splitter is notified of object
// creation under batches/ ending in each suffix of batch.Suffixes, and of nothing under
// its own reports/; the permissions let S3 invoke a function, nothing else.
func checkNotificationFilter(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default") {
		got := map[string]bool{}
		for _, addr := range pl.addresses("aws_s3_bucket_notification") {
			for _, lf := range getList(pl.After[addr], "lambda_function") {
				events := getStrs(lf, "events")
				if len(events) == 0 {
					p.add("a notification has no events")
				}
				for _, ev := range events {
					if !strings.HasPrefix(ev, "s3:ObjectCreated:") {
						p.add("a notification fires on %q: only object creation starts a batch", ev)
					}
				}
				prefix, suffix := getStr(lf, "filter_prefix"), getStr(lf, "filter_suffix")
				if strings.HasPrefix(naming.ReportPrefix, prefix) {
					p.add("the notification filter prefix %q matches the splitter's own %s objects: it would retrigger itself", prefix, naming.ReportPrefix)
				}
				got[prefix+"*"+suffix] = true
			}
		}
		// Terraform's list of suffixes is the Go table's (batch.Suffixes):
		// one notification for each format the splitter reads, and none else.
		want := map[string]bool{}
		for _, suffix := range batch.Suffixes() {
			want[naming.BatchPrefix+"*"+suffix] = true
		}
		if !cmp.Equal(sortedKeys(got), sortedKeys(want)) {
			p.add("the splitter is notified for %v, want exactly %v (prefix %s, the suffixes of batch.Suffixes)", sortedKeys(got), sortedKeys(want), naming.BatchPrefix)
		}
		for _, addr := range pl.addresses("aws_lambda_permission") {
			perm := pl.After[addr]
			if pr := getStr(perm, "principal"); pr != "s3.amazonaws.com" {
				p.add("%s has principal %q, want s3.amazonaws.com", addr, pr)
			}
			if a := getStr(perm, "action"); a != "lambda:InvokeFunction" {
				p.add("%s allows %q, want lambda:InvokeFunction", addr, a)
			}
		}
	}
	return p
}
