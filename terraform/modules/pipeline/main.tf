# memo's pipeline for one workspace:
#
#   s3://<bucket>/batches/*.json(l) -> splitter -> SQS ops (+ DLQ) -> compute -> DynamoDB
#
# Files by concern: storage.tf (bucket, results and batches tables), queues.tf, functions.tf
# (Lambdas, log groups, triggers), iam.tf, alarms.tf (alarms, dashboard).

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  # The one naming rule, memo-<workspace>-<role>; internal/pipeline/naming/naming.go
  # is its Go side and test/policy checks that the two agree. Every named
  # resource below builds its name from local.prefix.
  prefix = "memo-${var.workspace}"

  names = {
    bucket   = "${local.prefix}-batches-${local.account_id}"
    table    = "${local.prefix}-results"
    batches  = "${local.prefix}-batches"
    queue    = "${local.prefix}-ops"
    dlq      = "${local.prefix}-ops-dlq"
    splitter = "${local.prefix}-splitter"
    compute  = "${local.prefix}-compute"
  }

  # Folders of the batch bucket (naming.BatchPrefix, naming.ReportPrefix).
  # Uploads under batches/ trigger the splitter; its reports go under
  # reports/, which no notification matches, so it never retriggers itself.
  batch_prefix  = "batches/"
  report_prefix = "reports/"

  # One notification per batch format: the suffixes of the Go table
  # (batch.Suffixes, internal/pipeline/batch/formats.go); test/policy checks
  # that both lists agree. S3 takes one suffix per filter rule and refuses
  # overlapping ones: no suffix here ends with another.
  batch_suffixes = [".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz", ".json.zst", ".jsonl.zst", ".csv.zst"]

  # AWS: "set the source queue's visibility timeout to at least six times
  # the timeout that you configure on your function" (the slack lets Lambda
  # retry a throttled batch before the messages reappear). Derived here and
  # nowhere else; the local twin uses the same factor
  # (internal/dev/local.VisibilityFactor).
  visibility_timeout_seconds = 6 * var.compute_timeout_seconds

  # A DLQ keeps messages for the SQS maximum, 14 days: for a standard queue
  # a message keeps its original enqueue time when it is moved, so the DLQ
  # must retain longer than the source queue.
  dlq_retention_seconds = 1209600

  # On for a workspace named prod unless set explicitly.
  deletion_protection = var.deletion_protection == null ? var.workspace == "prod" : var.deletion_protection

  # Lambda filters JSON application logs by their "level" key and treats a
  # line without one (the Embedded Metric Format lines that carry memo's
  # metrics) as INFO: never filter above INFO there, or the metrics would be
  # dropped. The functions apply MEMO_LOG_LEVEL themselves.
  lambda_application_log_level = var.log_level == "debug" ? "DEBUG" : "INFO"
}
