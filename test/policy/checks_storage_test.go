package policy

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/naming"
)

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

// checkEncryptionAtRest: the plan encrypts the bucket (through the
// encryption configuration that refers to it, a link the plan shows as an
// unknown id) and both queues; the table, which DynamoDB always encrypts,
// keeps the free AWS owned key (server_side_encryption.enabled = false)
// unless table_encryption asks for KMS (the features plan: aws-managed).
func checkEncryptionAtRest(c *Config, ps plans) []string {
	var p problems
	m := c.Pipeline
	for _, pl := range ps.ok(&p, "default") {
		for _, b := range m.Blocks("resource", "aws_s3_bucket") {
			ok := false
			for _, sse := range forBucket(m, "aws_s3_bucket_server_side_encryption_configuration", b.Labels[1]) {
				r := pl.resource(&p, "aws_s3_bucket_server_side_encryption_configuration."+sse.Labels[1])
				for _, rule := range getList(r, "rule") {
					for _, d := range getList(rule, "apply_server_side_encryption_by_default") {
						alg := getStr(d, "sse_algorithm")
						ok = ok || alg == "AES256" || alg == "aws:kms" || alg == "aws:kms:dsse"
					}
				}
			}
			if !ok {
				p.add("plan %s: aws_s3_bucket.%s has no server-side encryption configuration (AES256 or aws:kms)", pl.Name, b.Labels[1])
			}
		}
		for _, addr := range pl.addresses("aws_sqs_queue") {
			q := pl.After[addr]
			if !getBool(q, "sqs_managed_sse_enabled") && getStr(q, "kms_master_key_id") == "" {
				p.add("plan %s: %s is not encrypted: set sqs_managed_sse_enabled = true or kms_master_key_id", pl.Name, addr)
			}
		}
		for _, addr := range pl.addresses("aws_dynamodb_table") {
			if getBool(pl.After[addr], "server_side_encryption", 0, "enabled") {
				p.add("plan %s: %s: server_side_encryption.enabled is true by default: the AWS managed KMS key adds KMS request charges; keep DynamoDB's AWS owned key unless table_encryption asks", pl.Name, addr)
			}
		}
	}
	for _, pl := range ps.ok(&p, "features") {
		for _, addr := range pl.addresses("aws_dynamodb_table") {
			if !getBool(pl.After[addr], "server_side_encryption", 0, "enabled") {
				p.add("plan %s: %s: with table_encryption = aws-managed server_side_encryption.enabled must be true", pl.Name, addr)
			}
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

// checkLogGroupsWired: each function logs to a log group of this module
// (a reference, so that the group with its retention exists first).
func checkLogGroupsWired(c *Config) []string {
	var p problems
	for _, fn := range c.Pipeline.Blocks("resource", "aws_lambda_function") {
		lcs := nested(fn, "logging_config")
		if len(lcs) != 1 || !refersTo(attr(lcs[0], "log_group"), "aws_cloudwatch_log_group") {
			p.add("aws_lambda_function.%s: logging_config.log_group must name an aws_cloudwatch_log_group of this module, so that the group (with its retention) exists before the function logs", fn.Labels[1])
		}
	}
	return p
}

// checkRetention, in the plans: the DLQ keeps messages 14 days and the
// ops queue no longer; queue and log retention come from the variables;
// the bucket's lifecycle expires batches and reports after their
// variables' days, old versions and abandoned multipart uploads.
func checkRetention(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default", "policy") {
		ops := pl.resource(&p, "aws_sqs_queue.ops")
		dlq := pl.resource(&p, "aws_sqs_queue.dlq")
		if ops == nil || dlq == nil {
			continue
		}
		dr, ok := getNum(dlq, "message_retention_seconds")
		if !ok || dr != 1209600 {
			p.add("plan %s: the DLQ must keep messages 14 days (1209600 s, the SQS maximum), keeps %v", pl.Name, get(dlq, "message_retention_seconds"))
		}
		or, ok := getNum(ops, "message_retention_seconds")
		if !ok || or > dr {
			p.add("plan %s: the ops queue keeps messages %v s, longer than its DLQ (%v s): moved messages keep their enqueue time and would expire in the DLQ first", pl.Name, get(ops, "message_retention_seconds"), dr)
		}
		policy := pl.Name == "policy"
		if want := policyVars["queue_retention_seconds"]; policy && or != want {
			p.add("with queue_retention_seconds = %v the ops queue keeps messages %v s: use the variable", want, or)
		}
		groups := pl.addresses("aws_cloudwatch_log_group")
		if len(groups) == 0 {
			p.add("plan %s: no log groups", pl.Name)
		}
		for _, addr := range groups {
			d, ok := getNum(pl.After[addr], "retention_in_days")
			switch {
			case !ok || d < 1:
				p.add("plan %s: %s keeps logs forever: set retention_in_days", pl.Name, addr)
			case policy && d != policyVars["log_retention_days"]:
				p.add("with log_retention_days = %v %s keeps logs %v days: use the variable", policyVars["log_retention_days"], addr, d)
			}
		}
		lcs := pl.addresses("aws_s3_bucket_lifecycle_configuration")
		if len(lcs) != 1 {
			p.add("plan %s: the batch bucket needs one lifecycle configuration, has %d", pl.Name, len(lcs))
			continue
		}
		expires := map[string]float64{}
		noncurrent, multipart := false, false
		for _, r := range getList(pl.After[lcs[0]], "rule") {
			if getStr(r, "status") != "Enabled" {
				continue
			}
			prefix := getStr(r, "filter", 0, "prefix")
			if d, ok := getNum(r, "expiration", 0, "days"); ok {
				expires[prefix] = d
			}
			noncurrent = noncurrent || len(getList(r, "noncurrent_version_expiration")) > 0
			multipart = multipart || len(getList(r, "abort_incomplete_multipart_upload")) > 0
		}
		for prefix, v := range map[string]string{naming.BatchPrefix: "batch_retention_days", naming.ReportPrefix: "report_retention_days"} {
			d, ok := expires[prefix]
			switch {
			case !ok:
				p.add("plan %s: no lifecycle rule expires objects under %s", pl.Name, prefix)
			case policy && d != policyVars[v]:
				p.add("with %s = %v objects under %s expire after %v days: use the variable", v, policyVars[v], prefix, d)
			}
		}
		if !noncurrent {
			p.add("plan %s: no lifecycle rule expires noncurrent versions: the versioned bucket would keep every overwritten batch", pl.Name)
		}
		if !multipart {
			p.add("plan %s: no lifecycle rule aborts incomplete multipart uploads", pl.Name)
		}
	}
	return p
}

// checkResultsTable, in the plans: the results table on demand, hash key
// name, no other attribute and no index (issue 22: counters replace the
// batch index, which wrote every result twice; no table of the plan has a
// global_secondary_index); the batches table on demand, hash key batch;
// point-in-time recovery on by default for both, no TTL (nothing writes an
// expiry), and deletion protection on in prod unless deletion_protection
// says otherwise (and off elsewhere unless it says so), for both.
func checkResultsTable(_ *Config, ps plans) []string {
	var p problems
	tables := []struct{ addr, key string }{{"aws_dynamodb_table.results", results.AttrName}, {"aws_dynamodb_table.batches", batches.AttrBatch}}
	for _, pl := range ps.ok(&p, "default") {
		for _, addr := range pl.addresses("aws_dynamodb_table") {
			if g := getList(pl.After[addr], "global_secondary_index"); len(g) != 0 {
				p.add("plan default: %s has a global_secondary_index %v: memo's tables have none", addr, g)
			}
		}
		for _, tb := range tables {
			t := pl.resource(&p, tb.addr)
			if t == nil {
				continue
			}
			if b := getStr(t, "billing_mode"); b != "PAY_PER_REQUEST" {
				p.add("%s bills %q, want PAY_PER_REQUEST", tb.addr, b)
			}
			attrs := tableAttributes(t)
			if h := getStr(t, "hash_key"); h != tb.key || attrs[tb.key] != "S" || len(attrs) != 1 {
				p.add("%s's hash key is %q (attributes %v), want %s of type S and no other attribute", tb.addr, h, attrs, tb.key)
			}
			if !getBool(t, "point_in_time_recovery", 0, "enabled") {
				p.add("%s: point-in-time recovery is off by default", tb.addr)
			}
			if ttl := tableTTL(t); ttl != "" {
				p.add("%s has TTL on attribute %q, which nothing writes", tb.addr, ttl)
			}
		}
	}
	for _, s := range []struct {
		plan, set string
		want      bool
	}{
		{"prod-defaults", "the default", true},
		{"default", "the default", false},
		{"dev-protected", "true", true},
		{"prod-unprotected", "false", false},
	} {
		for _, pl := range ps.ok(&p, s.plan) {
			for _, tb := range tables {
				if t := pl.resource(&p, tb.addr); t != nil && getBool(t, "deletion_protection_enabled") != s.want {
					p.add("workspace %s with deletion_protection = %s: %s's deletion protection is %v, want %v", pl.Workspace, s.set, tb.addr, get(t, "deletion_protection_enabled"), s.want)
				}
			}
		}
	}
	return p
}

// tableAttributes are a planned table's attribute definitions, name -> type.
func tableAttributes(t map[string]any) map[string]string {
	out := map[string]string{}
	for _, a := range getList(t, "attribute") {
		out[getStr(a, "name")] = getStr(a, "type")
	}
	return out
}

// tableTTL is a planned table's TTL attribute, or "" when TTL is off.
func tableTTL(t map[string]any) string {
	for _, x := range getList(t, "ttl") {
		if getBool(x, "enabled") {
			return getStr(x, "attribute_name")
		}
	}
	return ""
}
