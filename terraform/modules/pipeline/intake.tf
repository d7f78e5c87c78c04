# Durable intake: S3 invokes the splitter asynchronously (functions.tf);
# Lambda retries a failed invocation twice, and then, instead of dropping
# the event, sends a record of it (the S3 event as requestPayload, the
# error as responsePayload) to the split-failures queue, where it waits 14
# days with an alarm on it. Resume a batch from its record without
# re-uploading: invoke the splitter with the record's requestPayload (the
# README's Operations section shows the command).

#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; see the ops queue.
resource "aws_sqs_queue" "split_failures" {
  name                      = "${local.prefix}-split-failures"
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

# Lambda's defaults, written out: 2 retries, events up to 6 hours old; the
# on-failure destination is what changes.
resource "aws_lambda_function_event_invoke_config" "splitter" {
  function_name                = aws_lambda_function.splitter.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.split_failures.arn
    }
  }

  # Lambda sends to the destination with the function's execution role.
  depends_on = [aws_iam_role_policy.splitter_intake]
}

data "aws_iam_policy_document" "splitter_intake" {
  statement {
    sid       = "RecordFailedSplits"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.split_failures.arn]
  }
}

resource "aws_iam_role_policy" "splitter_intake" {
  name   = "${local.prefix}-splitter-intake"
  role   = aws_iam_role.splitter.id
  policy = data.aws_iam_policy_document.splitter_intake.json
}

resource "aws_cloudwatch_metric_alarm" "split_failures" {
  alarm_name          = "${local.prefix}-split-failures"
  alarm_description   = "A batch could not be split after Lambda's retries: its S3 event waits in ${local.prefix}-split-failures. Its report says failed; resume it from the record (README, Operations)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.split_failures.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
