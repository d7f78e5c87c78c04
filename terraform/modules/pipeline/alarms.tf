# Alarms on the AWS/SQS, AWS/Lambda and memo metrics, an optional SNS topic
# for their actions, and a dashboard.
#
# The functions publish CloudWatch Embedded Metric Format metrics in the
# namespace memo with the dimensions workspace and function (internal/aws/emf):
# the splitter (function = "splitter") OpsEnqueued, OpsRejected, Calls
# (SendMessageBatch) and Retries; compute (function = "compute") OpsOk,
# OpsError, Superseded, BatchItemFailures, Calls (PutItem) and Retries.
# CloudWatch keys a metric by its name and all its dimensions, so each
# metric is read with both.

locals {
  metric_namespace = "memo"
  # [function, metric] pairs, in dashboard order.
  memo_ops_metrics = [
    ["splitter", "OpsEnqueued"], ["splitter", "OpsRejected"],
    ["compute", "OpsOk"], ["compute", "OpsError"], ["compute", "Superseded"],
  ]
  memo_write_metrics = [
    ["compute", "BatchItemFailures"], ["compute", "Retries"], ["splitter", "Retries"],
  ]

  alarms = {
    "dlq-not-empty" = {
      description = "Messages reached the DLQ of ${local.names.queue}: ops that failed ${var.max_receive_count} times. Inspect with memo dlq, redrive once fixed."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      statistic   = "Maximum"
      period      = 60
      periods     = 1
      threshold   = 0
    }
    "ops-oldest-message" = {
      description = "The oldest op on ${local.names.queue} has waited more than ${var.oldest_message_alarm_seconds} s: compute is failing, throttled or too slow."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = aws_sqs_queue.ops.name }
      statistic   = "Maximum"
      period      = 60
      periods     = 5
      threshold   = var.oldest_message_alarm_seconds
    }
    "splitter-errors" = {
      description = "The splitter function failed (S3 events are retried twice, then recorded in the split-failures queue; chunk tasks are retried until their DLQ)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.splitter.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    "compute-errors" = {
      description = "The compute function failed whole invocations (every message of the batch is retried)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.compute.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    "splitter-throttles" = {
      description = "Invocations of the splitter were throttled (account concurrency exhausted)."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.splitter.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    "compute-throttles" = {
      description = "Invocations of compute were throttled (account concurrency exhausted below the mapping's maximum concurrency)."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.compute.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    # A failed split is recorded in the split-failures queue (the on-failure
    # destination) only if that delivery works: "never dropped" needs to
    # hear when it does not. Lambda publishes AsyncEventsDropped (events
    # dropped without being processed) and DestinationDeliveryFailures
    # (events it could not send to the destination) for asynchronous
    # invocation ("Types of metrics for Lambda functions", AWS Lambda
    # Developer Guide).
    "splitter-events-dropped" = {
      description = "S3 events for the splitter were dropped without being processed (maximum event age or retries exceeded, or the destination failed): batches may have no report. Re-upload them or find their records with memo dlq list --queue split-failures."
      namespace   = "AWS/Lambda"
      metric      = "AsyncEventsDropped"
      dimensions  = { FunctionName = aws_lambda_function.splitter.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    "splitter-destination-failures" = {
      description = "Lambda could not record failed splits in ${aws_sqs_queue.split_failures.name} (the on-failure destination): those S3 events are lost to memo resume. Check the queue's policy and the function's role."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      dimensions  = { FunctionName = aws_lambda_function.splitter.function_name }
      statistic   = "Sum"
      period      = 300
      periods     = 1
      threshold   = 0
    }
    "compute-item-failures" = {
      description = "Compute reported failed messages in its partial batch responses for 15 minutes in a row: results are not being written. Retries are expected to clear a blip; this is not one."
      namespace   = local.metric_namespace
      metric      = "BatchItemFailures"
      dimensions  = { workspace = var.workspace, function = "compute" }
      statistic   = "Sum"
      period      = 300
      periods     = 3
      threshold   = 0
    }
  }

  alarm_actions = concat(var.alarm_actions, aws_sns_topic.alarms[*].arn)
}

#tfsec:ignore:aws-sns-enable-topic-encryption CloudWatch alarms cannot publish to a topic encrypted with the AWS managed aws/sns key, and an alarm notification carries only the alarm's name, state and reason.
resource "aws_sns_topic" "alarms" {
  count = var.create_alarm_topic ? 1 : 0

  name = "${local.prefix}-alarms"
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  # No data means no traffic (SQS stops publishing for idle queues, the memo
  # metrics exist only when ops flow): not an alarm.
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions

  lifecycle {
    # CloudWatch PutMetricAlarm takes at most 5 AlarmActions and 5
    # OKActions: alarm_actions plus the optional topic must fit.
    precondition {
      condition     = length(local.alarm_actions) <= 5
      error_message = "CloudWatch allows at most 5 alarm actions per alarm: alarm_actions plus the alarm topic (create_alarm_topic) make ${length(local.alarm_actions)}."
    }
  }
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${local.prefix}-pipeline"

  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title   = "Ops (memo metrics, sum per minute)"
          view    = "timeSeries"
          region  = local.region
          stat    = "Sum"
          period  = 60
          metrics = [for m in local.memo_ops_metrics : [local.metric_namespace, m[1], "workspace", var.workspace, "function", m[0], { label = "${m[0]} ${m[1]}" }]]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title   = "Batch item failures and retries per function (memo metrics, sum per minute)"
          view    = "timeSeries"
          region  = local.region
          stat    = "Sum"
          period  = 60
          metrics = [for m in local.memo_write_metrics : [local.metric_namespace, m[1], "workspace", var.workspace, "function", m[0], { label = "${m[0]} ${m[1]}" }]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Queue depth: ops and DLQ (messages)"
          view   = "timeSeries"
          region = local.region
          stat   = "Maximum"
          period = 60
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.ops.name, { label = "ops visible" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", aws_sqs_queue.ops.name, { label = "ops in flight" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name, { label = "DLQ" }],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.ops.name, { label = "oldest op (s)", yAxis = "right" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Functions: errors, throttles, concurrency"
          view   = "timeSeries"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.splitter.function_name, { label = "splitter errors" }],
            ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.splitter.function_name, { label = "splitter throttles" }],
            ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.compute.function_name, { label = "compute errors" }],
            ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.compute.function_name, { label = "compute throttles" }],
            ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", aws_lambda_function.compute.function_name, { label = "compute concurrency", stat = "Maximum", yAxis = "right" }],
          ]
        }
      },
      {
        type   = "alarm"
        x      = 0
        y      = 12
        width  = 24
        height = 3
        properties = {
          title  = "Alarms"
          alarms = [for a in aws_cloudwatch_metric_alarm.this : a.arn]
        }
      },
    ]
  })
}
