package policy

import (
	"strings"
	"testing"
)

// TestInvariants checks terraform/ as it is: the HCL, and every plan an
// invariant reads, each made once.
func TestInvariants(t *testing.T) {
	files := readTerraform(t)
	c := mustConfig(t)
	need := map[string]bool{}
	for _, inv := range invariants {
		for _, n := range inv.plans {
			need[n] = true
		}
	}
	ps := planConfig(t, files, sortedKeys(need))
	for _, inv := range invariants {
		t.Run(inv.name, func(t *testing.T) {
			for _, msg := range sortedProblems(inv.run(c, ps)) {
				t.Errorf("invariant %s: %s", inv.name, msg)
			}
		})
	}
}

// A breakage changes one file of terraform/ in memory (old -> new, old must
// occur in it) and names the invariant that must then report a problem.
type breakage struct {
	invariant string
	why       string
	file      string
	old, new  string
}

var breakages = []breakage{
	{"user-function", "wildcard actions without the flag", "modules/pipeline/iam.tf",
		"condition     = var.allow_wildcard_actions || alltrue(", "condition     = true || alltrue("},
	{"warm-throughput", "table warmed by default", "modules/pipeline/storage.tf",
		"{\n    for_each = var.warm_throughput == null ? [] : [var.warm_throughput]", "{\n    for_each = [{ read_units_per_second = 12000, write_units_per_second = 4000 }]"},
	{"warm-throughput", "lower bound dropped", "modules/pipeline/variables.tf",
		"var.warm_throughput.write_units_per_second >= 4000", "var.warm_throughput.write_units_per_second >= 1"},
	{"terraform-plans", "misspelt variable", "modules/pipeline/functions.tf",
		"memory_size      = var.compute_memory_mb", "memory_size      = var.compute_memory"},
	{"terraform-plans", "undeclared local", "modules/pipeline/iam.tf",
		"name   = local.names.compute", "name   = local.name.compute"},
	{"terraform-plans", "undeclared resource", "modules/pipeline/alarms.tf",
		"dimensions  = { QueueName = aws_sqs_queue.dlq.name }", "dimensions  = { QueueName = aws_sqs_queue.deadletter.name }"},
	{"terraform-plans", "unknown function", "modules/pipeline/functions.tf",
		"tostring(var.splitter_send_concurrency)", "to_string(var.splitter_send_concurrency)"},
	{"terraform-plans", "type error in a dynamic block", "modules/pipeline/iam.tf",
		`for_each = var.xray_tracing ? ["xray"] : []`, `for_each = var.xray_tracing ? "xray" : []`},
	{"terraform-plans", "root output of a missing module output", "outputs.tf",
		"value       = module.pipeline.dlq_url", "value       = module.pipeline.dlq"},
	{"visibility-derived", "visibility timeout typed", "modules/pipeline/queues.tf",
		"visibility_timeout_seconds = local.visibility_timeout_seconds", "visibility_timeout_seconds = 180"},
	{"visibility-derived", "derivation drops the factor 6", "modules/pipeline/main.tf",
		"6 * var.compute_timeout_seconds", "var.compute_timeout_seconds"},
	{"visibility-derived", "compute timeout typed", "modules/pipeline/functions.tf",
		"timeout          = var.compute_timeout_seconds", "timeout          = 30"},
	{"redrive-policy", "no redrive policy", "modules/pipeline/queues.tf",
		"redrive_policy = jsonencode", "tags = tomap"},
	{"redrive-policy", "maxReceiveCount typed", "modules/pipeline/queues.tf",
		"maxReceiveCount     = var.max_receive_count", "maxReceiveCount     = 5"},
	{"redrive-policy", "redrive allow policy open to all", "modules/pipeline/queues.tf",
		`redrivePermission = "byQueue"`, `redrivePermission = "allowAll"`},
	{"report-batch-item-failures", "partial batch responses ignored", "modules/pipeline/functions.tf",
		`function_response_types            = ["ReportBatchItemFailures"]`, `function_response_types            = []`},
	{"esm-config", "batch size typed", "modules/pipeline/functions.tf",
		"batch_size                         = var.compute_batch_size", "batch_size                         = 100"},
	{"esm-config", "no maximum concurrency", "modules/pipeline/functions.tf",
		"scaling_config {", "dummy_config {"},
	{"esm-config", "batching-window precondition dropped", "modules/pipeline/functions.tf",
		"var.compute_batch_size <= 10 || var.compute_batching_window_seconds >= 1", "var.compute_batch_size <= 100 || var.compute_batching_window_seconds >= 1"},
	{"notification-filter", "no depends_on the permission", "modules/pipeline/functions.tf",
		"depends_on = [aws_lambda_permission.splitter_from_bucket]", "depends_on = []"},
	{"notification-filter", "prefix widened to the whole bucket", "modules/pipeline/main.tf",
		`batch_prefix  = "batches/"`, `batch_prefix  = ""`},
	{"notification-filter", ".jsonl not notified", "modules/pipeline/main.tf",
		`".json", ".jsonl", ".csv"`, `".json", ".json", ".csv"`},
	{"notification-filter", ".csv.zst not notified", "modules/pipeline/main.tf",
		`".jsonl.zst", ".csv.zst"]`, `".jsonl.zst"]`},
	{"notification-filter", "a suffix Go does not read", "modules/pipeline/main.tf",
		`".jsonl.zst", ".csv.zst"]`, `".jsonl.zst", ".csv.zst", ".txt"]`},
	{"notification-filter", "every object event", "modules/pipeline/functions.tf",
		`events              = ["s3:ObjectCreated:*"]`, `events              = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]`},
	{"iam-no-wildcards", "wildcard action", "modules/pipeline/iam.tf",
		`actions   = ["sqs:SendMessage"]`, `actions   = ["sqs:*"]`},
	{"iam-no-wildcards", "wildcard resource", "modules/pipeline/iam.tf",
		`resources = [aws_dynamodb_table.results.arn]`, `resources = ["*"]`},
	{"iam-no-wildcards", "whole bucket instead of a prefix", "modules/pipeline/iam.tf",
		`resources = ["${aws_s3_bucket.batches.arn}/${local.report_prefix}*"]`, `resources = ["${aws_s3_bucket.batches.arn}/*"]`},
	{"iam-no-wildcards", "a managed policy attached", "modules/pipeline/iam.tf",
		`resource "aws_iam_role_policy" "compute" {`, `resource "aws_iam_role_policy_attachment" "basic" {
  role       = aws_iam_role.compute.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy" "compute" {`},
	{"iam-no-wildcards", "X-Ray statement widened", "modules/pipeline/iam.tf",
		`actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]`, `actions   = ["xray:PutTraceSegments", "dynamodb:DeleteItem"]`},
	{"iam-exact-grants", "compute may not delete messages", "modules/pipeline/iam.tf",
		`"sqs:DeleteMessage",`, ``},
	{"iam-exact-grants", "splitter may also write results", "modules/pipeline/iam.tf",
		`actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ops.arn]`, `actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ops.arn]
  }

  statement {
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.results.arn]`},
	{"names-from-workspace", "bucket name typed", "modules/pipeline/main.tf",
		`bucket   = "${local.prefix}-batches-${local.account_id}"`, `bucket   = "memo-batches-${local.account_id}"`},
	{"names-from-workspace", "alarm name without the prefix", "modules/pipeline/alarms.tf",
		`alarm_name          = "${local.prefix}-${each.key}"`, `alarm_name          = each.key`},
	{"names-from-workspace", "unnamed topic", "modules/pipeline/alarms.tf",
		`name = "${local.prefix}-alarms"`, ``},
	{"names-from-workspace", "prefix not from the workspace", "modules/pipeline/main.tf",
		`prefix = "memo-${var.workspace}"`, `prefix = "memo-shared"`},
	{"names-from-workspace", "root module does not pass terraform.workspace", "main.tf",
		`workspace    = terraform.workspace`, `workspace    = "dev"`},
	{"names-match-go", "queue role renamed", "modules/pipeline/main.tf",
		`queue    = "${local.prefix}-ops"`, `queue    = "${local.prefix}-queue"`},
	{"names-match-go", "batches table renamed", "modules/pipeline/main.tf",
		`batches  = "${local.prefix}-batches"`, `batches  = "${local.prefix}-uploads"`},
	{"workspace-validated", "upper case allowed", "modules/pipeline/variables.tf",
		`can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.workspace))`, `can(regex("^[A-Za-z0-9][a-z0-9-]{0,19}$", var.workspace))`},
	{"workspace-validated", "length unbounded", "modules/pipeline/variables.tf",
		`can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.workspace))`, `can(regex("^[a-z0-9][a-z0-9-]*$", var.workspace))`},
	{"encryption-at-rest", "bucket SSE removed", "modules/pipeline/storage.tf",
		`sse_algorithm = "AES256"`, `kms_master_key_id = null`},
	{"encryption-at-rest", "DLQ unencrypted", "modules/pipeline/queues.tf",
		`message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true`, `message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = false`},
	{"encryption-at-rest", "table on the paid KMS key by default", "modules/pipeline/storage.tf",
		`enabled     = var.table_encryption != "aws-owned"`, `enabled     = true`},
	{"encryption-at-rest", "table_encryption ignored", "modules/pipeline/storage.tf",
		`enabled     = var.table_encryption != "aws-owned"`, `enabled     = false`},
	{"bucket-public-access-blocked", "public policies allowed", "modules/pipeline/storage.tf",
		`block_public_policy     = true`, `block_public_policy     = false`},
	{"bucket-public-access-blocked", "ACLs enabled", "modules/pipeline/storage.tf",
		`object_ownership = "BucketOwnerEnforced"`, `object_ownership = "ObjectWriter"`},
	{"bucket-tls-only", "TLS condition inverted", "modules/pipeline/storage.tf",
		`values   = ["false"]`, `values   = ["true"]`},
	{"bucket-tls-only", "deny only the bucket, not its objects", "modules/pipeline/storage.tf",
		`    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.batches.arn, "${aws_s3_bucket.batches.arn}/*"]`, `    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.batches.arn]`},
	{"retention", "DLQ keeps 4 days", "modules/pipeline/main.tf",
		`dlq_retention_seconds = 1209600`, `dlq_retention_seconds = 345600`},
	{"retention", "log group kept forever", "modules/pipeline/functions.tf",
		`name              = "/aws/lambda/${local.names.compute}"
  retention_in_days = var.log_retention_days`, `name              = "/aws/lambda/${local.names.compute}"`},
	{"retention", "reports never expire", "modules/pipeline/storage.tf",
		`prefix = local.report_prefix`, `prefix = "old-reports/"`},
	{"retention", "queue retention typed", "modules/pipeline/queues.tf",
		`message_retention_seconds  = var.queue_retention_seconds`, `message_retention_seconds  = 345600`},
	{"twin-defaults", "module batch size default differs from the twin", "modules/pipeline/variables.tf",
		"default     = 100", "default     = 10"},
	{"twin-defaults", "root maxReceiveCount default differs from the twin", "variables.tf",
		`Receives of one message before it moves to the DLQ, a count (1-1000)."
  type        = number
  default     = 5`, `Receives of one message before it moves to the DLQ, a count (1-1000)."
  type        = number
  default     = 3`},
	{"root-passes-through", "root default drifts from the module's", "variables.tf",
		`default     = 256`, `default     = 512`},
	{"root-passes-through", "root variable not passed", "main.tf",
		`log_level                         = var.log_level`, ``},
	{"variables-documented", "number without unit", "modules/pipeline/variables.tf",
		`Receives of one message before SQS moves it to the DLQ, a count (1-1000).`, `Receives of one message before SQS moves it to the DLQ.`},
	{"variables-documented", "validation removed", "modules/pipeline/variables.tf",
		`

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "The log level must be one of debug, info, warn, error."
  }`, ``},
	{"variables-documented", "default outside its validation", "modules/pipeline/variables.tf",
		`default     = 900`, `default     = 30`},
	{"lambda-config", "env value typed", "modules/pipeline/functions.tf",
		`MEMO_QUEUE_URL        = aws_sqs_queue.ops.url`, `MEMO_QUEUE_URL        = "https://sqs.eu-west-1.amazonaws.com/123456789012/memo-dev-ops"`},
	{"lambda-config", "table env missing", "modules/pipeline/functions.tf",
		`MEMO_TABLE         = aws_dynamodb_table.results.name`, `TABLE_NAME         = aws_dynamodb_table.results.name`},
	{"lambda-config", "x86 build", "modules/pipeline/functions.tf",
		`architectures    = ["arm64"]
  filename         = var.compute_zip`, `architectures    = ["x86_64"]
  filename         = var.compute_zip`},
	{"lambda-config", "no source_code_hash", "modules/pipeline/functions.tf",
		`source_code_hash = filebase64sha256(var.splitter_zip)`, `source_code_hash = filebase64sha256(var.compute_zip)`},
	{"lambda-config", "Lambda drops INFO lines", "modules/pipeline/main.tf",
		`var.log_level == "debug" ? "DEBUG" : "INFO"`, `upper(var.log_level)`},
	{"env-matches-go", "workspace dimension not set", "modules/pipeline/functions.tf",
		`      MEMO_BATCHES_TABLE = aws_dynamodb_table.batches.name
      MEMO_WORKSPACE     = var.workspace`, `      MEMO_BATCHES_TABLE = aws_dynamodb_table.batches.name`},
	{"env-matches-go", "a variable nothing reads", "modules/pipeline/functions.tf",
		`MEMO_TABLE         = aws_dynamodb_table.results.name`, `MEMO_TABLE         = aws_dynamodb_table.results.name
      MEMO_TABEL         = aws_dynamodb_table.results.name`},
	{"results-table", "the batch index back", "modules/pipeline/storage.tf",
		"  hash_key     = \"name\"\n", "  hash_key     = \"name\"\n\n  attribute {\n    name = \"batch_shard\"\n    type = \"S\"\n  }\n\n  global_secondary_index {\n    name            = \"batch-shard\"\n    hash_key        = \"batch_shard\"\n    projection_type = \"KEYS_ONLY\"\n  }\n"},
	{"results-table", "batches table keyed otherwise", "modules/pipeline/storage.tf",
		"  hash_key     = \"batch\"\n\n  attribute {\n    name = \"batch\"", "  hash_key     = \"id\"\n\n  attribute {\n    name = \"id\""},
	{"results-table", "batches table unprotected", "modules/pipeline/storage.tf",
		"  }\n\n  deletion_protection_enabled = local.deletion_protection\n}\n", "  }\n}\n"},
	{"results-table", "prod unprotected", "modules/pipeline/main.tf",
		`var.workspace == "prod" : var.deletion_protection`, `false : var.deletion_protection`},
	{"results-table", "no PITR", "variables.tf",
		`Whether the results and batches tables keep point-in-time recovery backups (35 days), a flag."
  type        = bool
  default     = true`, `Whether the results and batches tables keep point-in-time recovery backups (35 days), a flag."
  type        = bool
  default     = false`},
	{"outputs", "output renamed", "outputs.tf",
		`output "queue_url" {`, `output "ops_queue_url" {`},
	{"outputs", "module output points at the DLQ", "modules/pipeline/outputs.tf",
		`value       = aws_sqs_queue.ops.url`, `value       = aws_sqs_queue.dlq.url`},
	{"alarms", "no DLQ alarm", "modules/pipeline/alarms.tf",
		`metric      = "ApproximateNumberOfMessagesVisible"`, `metric      = "NumberOfMessagesSent"`},
	{"alarm-actions-bounded", "bound of the alarms' precondition off by one", "modules/pipeline/alarms.tf",
		`condition     = length(local.alarm_actions) <= 5`, `condition     = length(local.alarm_actions) <= 6`},
	{"alarms", "alarms notify nobody", "modules/pipeline/alarms.tf",
		`alarm_actions      = local.alarm_actions`, `alarm_actions      = []`},
	{"dashboard", "memo metric dimension renamed", "modules/pipeline/alarms.tf",
		`[local.metric_namespace, m[1], "workspace", var.workspace, "function", m[0], { label = "${m[0]} ${m[1]}" }]]`, `[local.metric_namespace, m[1], "workspace", var.workspace, { label = "${m[0]} ${m[1]}" }]]`},
	{"alarms", "alarm reads the metric without its function dimension", "modules/pipeline/alarms.tf",
		`dimensions  = { workspace = var.workspace, function = "compute" }`, `dimensions  = { workspace = var.workspace }`},
	{"dashboard", "DLQ depth not shown", "modules/pipeline/alarms.tf",
		`["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name, { label = "DLQ" }],`, ``},
	{"env-tfvars", "prod without deletion protection", "env/prod.tfvars",
		`deletion_protection = true`, `deletion_protection = false`},
	{"env-tfvars", "typo in a variable name", "env/dev.tfvars",
		`force_destroy`, `force_destory`},
	{"readme-tables", "default changed, README not", "variables.tf",
		`default     = 345600`, `default     = 86400`},
	{"readme-tables", "variable added, README not", "modules/pipeline/variables.tf",
		`variable "xray_tracing" {`, `variable "undocumented" {
  description = "Not in the README."
  type        = bool
  default     = false
}

variable "xray_tracing" {`},
	{"readme-tables", "output removed, README not", "outputs.tf",
		`output "dlq_url" {
  description = "URL of the ops queue's dead-letter queue."
  value       = module.pipeline.dlq_url
}`, ``},
	{"backend-example", "no per-workspace keys", "backend.tf.example",
		`workspace_key_prefix = "memo"`, ``},
	{"backend-example", "state unencrypted", "backend.tf.example",
		`encrypt              = true`, ``},
	{"backend-example", "no locking", "backend.tf.example",
		`use_lockfile = true`, ``},
	{"backend-example", "the DynamoDB table by default again", "backend.tf.example",
		`use_lockfile = true`, `dynamodb_table = "memo-tfstate-lock"`},
	{"tfsec-ignores-reasoned", "ignore without a reason", "modules/pipeline/queues.tf",
		`#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; see the ops queue.`, `#tfsec:ignore:aws-sqs-queue-encryption-use-cmk`},
	{"tfsec-ignores-reasoned", "ignore everything", "modules/pipeline/storage.tf",
		`#tfsec:ignore:aws-s3-enable-bucket-logging`, `#tfsec:ignore:*`},
	{"provider-versions", "root allows 7.x", "versions.tf",
		`version = ">= 6.25.0, < 7.0.0"`, `version = ">= 6.25.0"`},
	{"provider-versions", "module allows 7.x", "modules/pipeline/versions.tf",
		`version = ">= 6.0, < 7.0.0"`, `version = ">= 6.0"`},
	{"provider-versions", "root stops below 6.29.0 again", "versions.tf",
		`version = ">= 6.25.0, < 7.0.0"`, `version = ">= 6.25.0, < 6.29.0"`},
	{"provider-versions", "root excludes the checked release", "versions.tf",
		`version = ">= 6.25.0, < 7.0.0"`, `version = "~> 6.26.0"`},
	{"env-tfvars", "value its validation refuses", "env/prod.tfvars",
		`log_retention_days`, `compute_max_concurrency = 1
log_retention_days`},
}

// TestInvariantsCatchBreakage proves each check can fail: it breaks a copy of
// terraform/ in memory and asserts that the named invariant reports it. An
// invariant that reads plans reads the plans of the broken copy (made in
// parallel subtests: a plan takes seconds).
func TestInvariantsCatchBreakage(t *testing.T) {
	files := readTerraform(t)
	byName := map[string]invariant{}
	for _, inv := range invariants {
		byName[inv.name] = inv
	}
	for _, b := range breakages {
		t.Run(b.invariant+"/"+strings.ReplaceAll(b.why, " ", "_"), func(t *testing.T) {
			inv, ok := byName[b.invariant]
			if !ok {
				t.Fatalf("no invariant %q", b.invariant)
			}
			src, ok := files[b.file]
			if !ok {
				t.Fatalf("no file terraform/%s", b.file)
			}
			if !strings.Contains(string(src), b.old) {
				t.Fatalf("terraform/%s no longer contains %q: update this breakage", b.file, b.old)
			}
			broken := map[string][]byte{}
			for k, v := range files {
				broken[k] = v
			}
			broken[b.file] = []byte(strings.Replace(string(src), b.old, b.new, 1))
			c, err := parseConfig(broken)
			if err != nil {
				t.Fatalf("the broken copy does not parse: %v", err)
			}
			var pl plans
			if len(inv.plans) > 0 {
				t.Parallel()
				names := inv.breakPlans
				if names == nil {
					names = inv.plans
				}
				pl = planConfig(t, broken, names)
				pl.partial = true
			}
			ps := inv.run(c, pl)
			if len(ps) == 0 {
				t.Fatalf("invariant %s did not notice: %s (%s: %q -> %q)", b.invariant, b.why, b.file, b.old, b.new)
			}
			t.Logf("invariant %s reports: %s", b.invariant, strings.Join(sortedProblems(ps), "; "))
		})
	}
}

// TestEveryInvariantHasABreakage keeps the proof complete: an invariant
// without a breakage case could be a check that never fails.
func TestEveryInvariantHasABreakage(t *testing.T) {
	cases := map[string]int{}
	for _, b := range breakages {
		cases[b.invariant]++
	}
	for _, inv := range invariants {
		if cases[inv.name] == 0 {
			t.Errorf("invariant %s has no breakage case proving it can fail", inv.name)
		}
	}
}
