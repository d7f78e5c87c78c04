package policy

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

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
