# Inputs of the root module. Values for a workspace go in env/<workspace>.tfvars
# (make deploy passes it when it exists). The pipeline inputs pass through to
# modules/pipeline, which validates them; their defaults equal the module's
# (test/policy checks it). README.md lists every input.

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "The region must look like eu-west-1."
  }
}

variable "endpoints" {
  description = "Endpoint URLs by service (cloudwatch, dynamodb, iam, lambda, logs, s3, sns, sqs, sts) to target an AWS emulator instead of AWS; empty means AWS. Any entry also turns on S3 path-style addressing and skips credential and account-id checks."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.endpoints) : contains(["cloudwatch", "dynamodb", "iam", "lambda", "logs", "s3", "sns", "sqs", "sts"], k)])
    error_message = "Endpoint keys must be among cloudwatch, dynamodb, iam, lambda, logs, s3, sns, sqs, sts."
  }
}

variable "artifacts_dir" {
  description = "Directory holding splitter.zip and compute.zip (make build); null means ../build relative to this root module."
  type        = string
  default     = null
}

variable "compute_zip" {
  description = "The compute function's deployment package: a zip holding one linux/arm64 executable named bootstrap, built from a Go main that calls fn.Start (github.com/memohq/memo/fn); null means memo's own evaluator, compute.zip in artifacts_dir. With your own function, set split_op_rules = \"json\" so that its ops may be any JSON value."
  type        = string
  default     = null

  validation {
    condition     = var.compute_zip == null || endswith(coalesce(var.compute_zip, "x.zip"), ".zip")
    error_message = "compute_zip must be a .zip file."
  }
}

variable "compute_environment" {
  description = "Environment variables added to the compute function (a user's function's own settings, e.g. OBJECTS_BUCKET). Names starting with MEMO_ or AWS_ are refused."
  type        = map(string)
  default     = {}
}

variable "compute_policy_statements" {
  description = "IAM statements (Allow: sid, actions, resources) added to the compute function's role in a policy of their own, for a user's function to reach its own resources. memo's own statements are unchanged. A wildcard action needs allow_wildcard_actions = true."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "allow_wildcard_actions" {
  description = "Let compute_policy_statements grant actions with a wildcard (s3:Get*): off by default, so that a broad grant is a decision written down."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource, besides Project, Workspace and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "splitter_memory_mb" {
  description = "Memory of the splitter function, in MB (128-10240)."
  type        = number
  default     = 1024
}

variable "compute_memory_mb" {
  description = "Memory of the compute function, in MB (128-10240)."
  type        = number
  default     = 256
}

variable "splitter_timeout_seconds" {
  description = "Timeout of the splitter function, in seconds (1-900)."
  type        = number
  default     = 300
}

variable "compute_timeout_seconds" {
  description = "Timeout of the compute function, in seconds (1-900); the ops queue's visibility timeout is 6 x this."
  type        = number
  default     = 30
}

variable "splitter_send_concurrency" {
  description = "SendMessageBatch calls the splitter keeps in flight, a count (1-64); MEMO_SEND_CONCURRENCY."
  type        = number
  default     = 16
}

variable "compute_batch_size" {
  description = "Maximum messages per compute invocation, a count (1-10000); above 10 needs a batching window of at least 1 s."
  type        = number
  default     = 100
}

variable "compute_batching_window_seconds" {
  description = "Maximum batching window of the event source mapping, in seconds (0-300)."
  type        = number
  default     = 1
}

variable "compute_max_concurrency" {
  description = "Maximum concurrent compute invocations, a count (2-1000); bounds the write rate on the table."
  type        = number
  default     = 10
}

variable "max_receive_count" {
  description = "Receives of one message before it moves to the DLQ, a count (1-1000)."
  type        = number
  default     = 5
}

variable "queue_retention_seconds" {
  description = "Message retention of the ops queue, in seconds (60-1209600); the DLQ keeps 14 days."
  type        = number
  default     = 345600
}

variable "log_level" {
  description = "Level of the functions' logs: debug, info, warn or error; MEMO_LOG_LEVEL."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30
}

variable "xray_tracing" {
  description = "Whether the functions send X-Ray traces, a flag."
  type        = bool
  default     = false
}

variable "batch_retention_days" {
  description = "Age after which batch files under batches/ expire, in days (1-3650)."
  type        = number
  default     = 30
}

variable "report_retention_days" {
  description = "Age after which reports under reports/ expire, in days (1-3650)."
  type        = number
  default     = 90
}

variable "noncurrent_version_retention_days" {
  description = "Time an overwritten or deleted object version is kept, in days (1-3650)."
  type        = number
  default     = 7
}

variable "force_destroy" {
  description = "Whether destroy may delete the batch bucket with its objects, a flag (test workspaces only)."
  type        = bool
  default     = false
}

variable "table_encryption" {
  description = "Key that encrypts the results and batches tables at rest: aws-owned (free), aws-managed (aws/dynamodb, KMS request charges) or a KMS key ARN."
  type        = string
  default     = "aws-owned"
}

variable "point_in_time_recovery" {
  description = "Whether the results and batches tables keep point-in-time recovery backups (35 days), a flag."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Whether the results and batches tables refuse deletion, a flag; null means on for the prod workspace only."
  type        = bool
  default     = null
}

variable "create_alarm_topic" {
  description = "Whether to create the SNS topic memo-<workspace>-alarms that every alarm notifies, a flag."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (for example of existing SNS topics) that every alarm notifies, a list of at most 5 (4 with create_alarm_topic)."
  type        = list(string)
  default     = []
}

variable "oldest_message_alarm_seconds" {
  description = "Age of the oldest ops-queue message that raises an alarm, in seconds (60-1209600)."
  type        = number
  default     = 900
}

variable "split_chunk_ops" {
  description = "Most ops of one chunk of a batch, a count (1-2000000); MEMO_CHUNK_OPS."
  type        = number
  default     = 50000
}

variable "split_pack_ops" {
  description = "Most ops of one ops-queue message, a count (1-1000); MEMO_PACK_OPS."
  type        = number
  default     = 10
}

variable "split_op_rules" {
  description = "What the splitter accepts as an op; MEMO_OP_RULES. \"expression\" (the default, memo's evaluator) or \"json\": any JSON value of at most 32768 bytes, for your own function: set it with compute_zip (docs/design.md, Op rules)."
  type        = string
  default     = "expression"

  validation {
    condition     = contains(["expression", "json"], var.split_op_rules)
    error_message = "split_op_rules must be \"expression\" (memo's evaluator) or \"json\" (your own function)."
  }
}

variable "split_chunk_concurrency" {
  description = "Chunk tasks run at once, a count (2-1000): the chunk queue mapping's maximum concurrency."
  type        = number
  default     = 20
}

variable "warm_throughput" {
  description = "Pre-warms the results table, or null (the default): { read_units_per_second (>= 12000), write_units_per_second (>= 4000) }. AWS charges once for the increase."
  type = object({
    read_units_per_second  = number
    write_units_per_second = number
  })
  default = null
}
