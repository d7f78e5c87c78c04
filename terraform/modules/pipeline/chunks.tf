# Chunks: the splitter plans each batch (one pass over the object: structure,
# per-op rules, duplicates) and queues one task per chunk of
# var.split_chunk_ops ops on the chunk queue; the chunk queue's event source
# mapping runs each task in the same splitter function, one task per
# invocation. A task reads only its chunk's bytes (a ranged GetObject, which
# needs no permission beyond s3:GetObject), enqueues its ops, writes a done
# marker under reports/, and the task that finds every marker writes the
# report. internal/pipeline/splitter (plan.go, chunk.go) is the Go side.

locals {
  # Six times the function's timeout, as for the ops queue (AWS's advice for
  # an event source mapping's queue).
  chunk_visibility_timeout_seconds = 6 * var.splitter_timeout_seconds
}

#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; see the ops queue.
resource "aws_sqs_queue" "chunks" {
  name                       = "${local.prefix}-chunks"
  visibility_timeout_seconds = local.chunk_visibility_timeout_seconds
  message_retention_seconds  = var.queue_retention_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.chunks_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; see the ops queue.
resource "aws_sqs_queue" "chunks_dlq" {
  name                      = "${local.prefix}-chunks-dlq"
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

# What the splitter needs for chunks, beyond iam.tf's statements: queue the
# tasks, consume them through the mapping, read a plan and list the done
# markers (both under reports/).
data "aws_iam_policy_document" "splitter_chunks" {
  statement {
    sid       = "QueueChunks"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.chunks.arn]
  }

  statement {
    sid = "ConsumeChunks"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.chunks.arn]
  }

  statement {
    sid     = "ReadPlans"
    actions = ["s3:GetObject"]
    #tfsec:ignore:aws-iam-no-policy-wildcards Plan keys follow the batch keys; the wildcard covers only objects under reports/ in this one bucket.
    resources = ["${aws_s3_bucket.batches.arn}/${local.report_prefix}*"]
  }

  # ListObjectsV2 (the done markers under reports/) is authorized by
  # s3:ListBucket on the bucket. The same permission decides what GetObject
  # answers for a missing batch: 404 NoSuchKey with s3:ListBucket "on the
  # bucket", 403 AccessDenied without (GetObject, Permissions), and the
  # splitter takes only the 404 as "the object is gone". AWS does not say
  # whether a grant limited by an s3:prefix condition counts there, so the
  # grant has none: the splitter may list key names of its own bucket.
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.batches.arn]
  }
}

resource "aws_iam_role_policy" "splitter_chunks" {
  name   = "${local.prefix}-splitter-chunks"
  role   = aws_iam_role.splitter.id
  policy = data.aws_iam_policy_document.splitter_chunks.json
}

# One chunk task per invocation, so that an invocation's work is one chunk;
# ReportBatchItemFailures, so that a failed chunk alone is retried.
resource "aws_lambda_event_source_mapping" "chunks" {
  event_source_arn        = aws_sqs_queue.chunks.arn
  function_name           = aws_lambda_function.splitter.arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.split_chunk_concurrency
  }

  depends_on = [aws_iam_role_policy.splitter_chunks]
}

resource "aws_cloudwatch_metric_alarm" "chunk_dlq_not_empty" {
  alarm_name          = "${local.prefix}-chunk-dlq-not-empty"
  alarm_description   = "Chunk tasks reached ${local.prefix}-chunks-dlq: chunks of a batch failed ${var.max_receive_count} times, so the batch has no report. Redrive them to ${local.prefix}-chunks once fixed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.chunks_dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
