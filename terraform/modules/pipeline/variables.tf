# Every input is described with its unit and validated. The defaults of the
# event source mapping (batch size, batching window, maxReceiveCount) equal
# the local twin's; test/policy checks that they stay equal.

variable "workspace" {
  description = "Workspace that names every resource, memo-<workspace>-<role>: 1-20 characters of lowercase letters, digits and '-', starting with a letter or digit. A workspace named prod turns deletion protection on by default."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.workspace))
    error_message = "The workspace must be 1-20 characters of lowercase letters, digits or '-', starting with a letter or digit (it becomes part of S3 bucket names)."
  }
}

variable "splitter_zip" {
  description = "Path of the splitter's deployment package: a zip holding one linux/arm64 executable named bootstrap (make build writes build/splitter.zip)."
  type        = string

  validation {
    condition     = endswith(var.splitter_zip, ".zip")
    error_message = "The splitter package must be a .zip file."
  }
}

variable "compute_zip" {
  description = "Path of the compute function's deployment package: a zip holding one linux/arm64 executable named bootstrap (make build writes build/compute.zip)."
  type        = string

  validation {
    condition     = endswith(var.compute_zip, ".zip")
    error_message = "The compute package must be a .zip file."
  }
}

variable "splitter_memory_mb" {
  description = "Memory of the splitter function, in MB (128-10240); CPU share grows with it. The default (0.58 vCPU) keeps a 1M-op split within 30 s on paper (make bench: aws_split_seconds_1m)."
  type        = number
  default     = 1024

  validation {
    condition     = var.splitter_memory_mb >= 128 && var.splitter_memory_mb <= 10240 && floor(var.splitter_memory_mb) == var.splitter_memory_mb
    error_message = "The splitter memory must be a whole number of MB between 128 and 10240."
  }
}

variable "compute_memory_mb" {
  description = "Memory of the compute function, in MB (128-10240); CPU share grows with it."
  type        = number
  default     = 256

  validation {
    condition     = var.compute_memory_mb >= 128 && var.compute_memory_mb <= 10240 && floor(var.compute_memory_mb) == var.compute_memory_mb
    error_message = "The compute memory must be a whole number of MB between 128 and 10240."
  }
}

variable "splitter_timeout_seconds" {
  description = "Timeout of the splitter function, in seconds (1-900): long enough to stream the largest batch file into the queue."
  type        = number
  default     = 300

  validation {
    condition     = var.splitter_timeout_seconds >= 1 && var.splitter_timeout_seconds <= 900 && floor(var.splitter_timeout_seconds) == var.splitter_timeout_seconds
    error_message = "The splitter timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "compute_timeout_seconds" {
  description = "Timeout of the compute function, in seconds (1-900). The ops queue's visibility timeout is derived from it: 6 x this."
  type        = number
  default     = 30

  validation {
    condition     = var.compute_timeout_seconds >= 1 && var.compute_timeout_seconds <= 900 && floor(var.compute_timeout_seconds) == var.compute_timeout_seconds
    error_message = "The compute timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "splitter_send_concurrency" {
  description = "SendMessageBatch calls the splitter keeps in flight, a count (1-64); becomes MEMO_SEND_CONCURRENCY."
  type        = number
  default     = 16

  validation {
    condition     = var.splitter_send_concurrency >= 1 && var.splitter_send_concurrency <= 64 && floor(var.splitter_send_concurrency) == var.splitter_send_concurrency
    error_message = "The send concurrency must be a whole number between 1 and 64."
  }
}

variable "compute_batch_size" {
  description = "Maximum messages per compute invocation, a count (1-10000). Above 10 the batching window must be at least 1 second."
  type        = number
  default     = 100

  validation {
    condition     = var.compute_batch_size >= 1 && var.compute_batch_size <= 10000 && floor(var.compute_batch_size) == var.compute_batch_size
    error_message = "The batch size must be a whole number between 1 and 10000."
  }
}

variable "compute_batching_window_seconds" {
  description = "Maximum batching window of the event source mapping, in seconds (0-300): how long Lambda gathers messages before invoking compute."
  type        = number
  default     = 1

  validation {
    condition     = var.compute_batching_window_seconds >= 0 && var.compute_batching_window_seconds <= 300 && floor(var.compute_batching_window_seconds) == var.compute_batching_window_seconds
    error_message = "The batching window must be a whole number of seconds between 0 and 300."
  }
}

variable "compute_max_concurrency" {
  description = "Maximum concurrent compute invocations the event source mapping starts, a count (2-1000); bounds the write rate on the results table."
  type        = number
  default     = 10

  validation {
    condition     = var.compute_max_concurrency >= 2 && var.compute_max_concurrency <= 1000 && floor(var.compute_max_concurrency) == var.compute_max_concurrency
    error_message = "The maximum concurrency must be a whole number between 2 and 1000."
  }
}

variable "max_receive_count" {
  description = "Receives of one message before SQS moves it to the DLQ, a count (1-1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "The maximum receive count must be a whole number between 1 and 1000."
  }
}

variable "queue_retention_seconds" {
  description = "Message retention of the ops queue, in seconds (60-1209600; default 4 days). The DLQ always keeps messages 14 days, the SQS maximum."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_retention_seconds >= 60 && var.queue_retention_seconds <= 1209600 && floor(var.queue_retention_seconds) == var.queue_retention_seconds
    error_message = "The queue retention must be a whole number of seconds between 60 and 1209600 (14 days)."
  }
}

variable "log_level" {
  description = "Level of the functions' own logs, one of debug, info, warn, error; becomes MEMO_LOG_LEVEL."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "The log level must be one of debug, info, warn, error."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log retention must be a number of days CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "xray_tracing" {
  description = "Whether the functions send X-Ray traces (active tracing), a flag; off by default because traces cost per segment."
  type        = bool
  default     = false
}

variable "batch_retention_days" {
  description = "Age after which uploaded batch files under batches/ expire, in days (1-3650)."
  type        = number
  default     = 30

  validation {
    condition     = var.batch_retention_days >= 1 && var.batch_retention_days <= 3650 && floor(var.batch_retention_days) == var.batch_retention_days
    error_message = "The batch retention must be a whole number of days between 1 and 3650."
  }
}

variable "report_retention_days" {
  description = "Age after which the splitter's reports under reports/ expire, in days (1-3650)."
  type        = number
  default     = 90

  validation {
    condition     = var.report_retention_days >= 1 && var.report_retention_days <= 3650 && floor(var.report_retention_days) == var.report_retention_days
    error_message = "The report retention must be a whole number of days between 1 and 3650."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Time an overwritten or deleted object version is kept in the versioned batch bucket, in days (1-3650)."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 3650 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "The noncurrent version retention must be a whole number of days between 1 and 3650."
  }
}

variable "force_destroy" {
  description = "Whether terraform destroy may delete the batch bucket with its objects, a flag: set it for test workspaces only."
  type        = bool
  default     = false
}

variable "table_encryption" {
  description = "Key that encrypts the results and batches tables at rest: aws-owned (DynamoDB's own key, free), aws-managed (the account's aws/dynamodb KMS key, KMS request charges) or the ARN of a customer managed KMS key."
  type        = string
  default     = "aws-owned"

  validation {
    condition     = contains(["aws-owned", "aws-managed"], var.table_encryption) || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.table_encryption))
    error_message = "The table encryption must be aws-owned, aws-managed or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "point_in_time_recovery" {
  description = "Whether the results and batches tables keep continuous backups for point-in-time recovery (35 days), a flag."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Whether the results and batches tables refuse deletion, a flag; null means on for a workspace named prod and off elsewhere."
  type        = bool
  default     = null
}

variable "create_alarm_topic" {
  description = "Whether to create an SNS topic memo-<workspace>-alarms that every alarm notifies, a flag; subscribe to it yourself."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (for example of existing SNS topics) that every alarm notifies on ALARM and OK, a list of at most 5 (4 with create_alarm_topic); empty means alarms without actions unless create_alarm_topic is set."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "Every alarm action must be an ARN."
  }

  # CloudWatch PutMetricAlarm: AlarmActions and OKActions hold at most 5
  # items each. The alarm topic takes one more (the alarms' precondition).
  validation {
    condition     = length(var.alarm_actions) <= 5
    error_message = "CloudWatch allows at most 5 alarm actions per alarm: give at most 5 alarm_actions (4 with create_alarm_topic)."
  }
}

variable "oldest_message_alarm_seconds" {
  description = "Age of the oldest message on the ops queue that raises an alarm, in seconds (60-1209600)."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_message_alarm_seconds >= 60 && var.oldest_message_alarm_seconds <= 1209600
    error_message = "The oldest-message alarm threshold must be between 60 and 1209600 seconds."
  }
}

variable "split_chunk_ops" {
  description = "Most ops of one chunk of a batch, a count (1-2000000); becomes MEMO_CHUNK_OPS. The default keeps a chunk's invocation well within a quarter of the splitter timeout at the default memory."
  type        = number
  default     = 50000

  validation {
    condition     = var.split_chunk_ops >= 1 && var.split_chunk_ops <= 2000000 && floor(var.split_chunk_ops) == var.split_chunk_ops
    error_message = "The chunk size must be a whole number of ops between 1 and 2000000."
  }
}

variable "split_pack_ops" {
  description = "Most ops of one ops-queue message, a count (1-1000); becomes MEMO_PACK_OPS. The splitter packs ops by count and by bytes (a tenth of SendMessageBatch's 1 MiB); a compute invocation takes compute_batch_size messages of up to this many ops. The default makes 0.01 SendMessageBatch calls an op (docs/design.md, Packed messages)."
  type        = number
  default     = 10

  validation {
    condition     = var.split_pack_ops >= 1 && var.split_pack_ops <= 1000 && floor(var.split_pack_ops) == var.split_pack_ops
    error_message = "The pack size must be a whole number of ops between 1 and 1000."
  }
}

variable "split_op_rules" {
  description = "What the splitter accepts as an op; becomes MEMO_OP_RULES. \"expression\" (the default): memo's own rules for its evaluator, the op is a string of at most 1024 bytes, no backslash, parentheses nested at most 64 deep. \"json\": any JSON value (string, number, object, array, true, false, null) of at most 32768 bytes as the file holds it, arrays and objects nested at most 64 deep, valid UTF-8, for your own function (compute_zip); a CSV cell is carried as a JSON string. The bound keeps a message of one op under the splitter's pack size (a tenth of SQS's 1 MiB) and the op with its result under DynamoDB's 400 KB item (docs/design.md, Op rules)."
  type        = string
  default     = "expression"

  validation {
    condition     = contains(["expression", "json"], var.split_op_rules)
    error_message = "split_op_rules must be \"expression\" (memo's evaluator) or \"json\" (your own function)."
  }
}

variable "split_chunk_concurrency" {
  description = "Chunk tasks run at once, a count (2-1000): the chunk queue mapping's maximum concurrency (AWS accepts 2 to 1000)."
  type        = number
  default     = 20

  validation {
    condition     = var.split_chunk_concurrency >= 2 && var.split_chunk_concurrency <= 1000 && floor(var.split_chunk_concurrency) == var.split_chunk_concurrency
    error_message = "The chunk concurrency must be a whole number between 2 and 1000."
  }
}

variable "warm_throughput" {
  description = "Pre-warms the results table, or null (the default) for a new on-demand table's 12,000 reads and 4,000 writes a second: read_units_per_second and write_units_per_second, whole numbers of at least those (AWS never lowers warm throughput) and at most the account's per-table quota (40,000 each by default). AWS charges once for the increase (README: Warm throughput)."
  type = object({
    read_units_per_second  = number
    write_units_per_second = number
  })
  default = null

  # try(): the attributes of a null object cannot be read, and || need not
  # short-circuit.
  validation {
    condition = var.warm_throughput == null || try(
      var.warm_throughput.read_units_per_second >= 12000 && floor(var.warm_throughput.read_units_per_second) == var.warm_throughput.read_units_per_second &&
      var.warm_throughput.write_units_per_second >= 4000 && floor(var.warm_throughput.write_units_per_second) == var.warm_throughput.write_units_per_second,
    false)
    error_message = "warm_throughput needs whole numbers of at least 12000 read_units_per_second and 4000 write_units_per_second: what a new on-demand table has (warm throughput can only be raised)."
  }
}

variable "compute_environment" {
  description = "Environment variables added to the compute function (a user's function reads its own settings here, e.g. OBJECTS_BUCKET). Names starting with MEMO_ or AWS_ are memo's and Lambda's and are refused."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.compute_environment) : !startswith(k, "MEMO_") && !startswith(k, "AWS_")])
    error_message = "compute_environment may not set MEMO_* (memo's settings) or AWS_* (Lambda's reserved) variables."
  }
}

variable "compute_policy_statements" {
  description = "IAM statements (Allow) added to the compute function's role in a policy of their own, for a user's function to reach its own resources: sid, actions and resources, each action service:Action. memo's own statements are unchanged. An action with a wildcard (*) needs allow_wildcard_actions = true."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []

  validation {
    condition = alltrue([for s in var.compute_policy_statements :
      can(regex("^[A-Za-z0-9]+$", s.sid)) && length(s.actions) > 0 && length(s.resources) > 0 &&
    alltrue([for a in s.actions : can(regex("^[a-z0-9-]+:[A-Za-z0-9*]+$", a))])])
    error_message = "Each compute_policy_statements entry needs an alphanumeric sid, at least one action of the form service:Action and at least one resource."
  }
}

variable "allow_wildcard_actions" {
  description = "Let compute_policy_statements grant actions with a wildcard (s3:Get*, s3:*): off by default, so that a broad grant to the compute function is a decision written down."
  type        = bool
  default     = false
}
