# The least privilege an operator of memo needs for this workspace: memo
# submit, results, status, batches, explain, dlq (list and redrive) and resume. Attach the
# JSON of output operator_policy_json to the operators' role or group.
# s3:ListBucket matters beyond listing: without it, S3 answers a missing
# key with 403 instead of 404 ("Permissions", GetObject, Amazon S3 API
# Reference), and memo status polls a report before it exists.
# StartMessageMoveTask needs, on the DLQ, ReceiveMessage, DeleteMessage and
# GetQueueAttributes, and SendMessage on the queue it moves to ("Configure
# queue permissions for dead-letter queue redrive", Amazon SQS Developer
# Guide).
data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "UploadBatches"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.batches.arn}/${local.batch_prefix}*"]
  }

  statement {
    sid     = "ReadBatchesAndReports"
    actions = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [
      "${aws_s3_bucket.batches.arn}/${local.batch_prefix}*",
      "${aws_s3_bucket.batches.arn}/${local.report_prefix}*",
    ]
  }

  statement {
    sid       = "ListBatchesAndReports"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.batches.arn]
  }

  statement {
    sid       = "ReadResults"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.results.arn]
  }

  # memo status (one GetItem) and memo batches (a Scan).
  statement {
    sid       = "ReadBatches"
    actions   = ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query"]
    resources = [aws_dynamodb_table.batches.arn]
  }

  statement {
    sid     = "ReadQueueDepths"
    actions = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [
      aws_sqs_queue.ops.arn, aws_sqs_queue.dlq.arn, aws_sqs_queue.chunks.arn,
      aws_sqs_queue.chunks_dlq.arn, aws_sqs_queue.split_failures.arn,
    ]
  }

  # memo dlq list peeks (receive, then make visible again); redrive and
  # resume move messages out of these queues.
  statement {
    sid = "ReadAndDrainFailedWork"
    actions = [
      "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
      "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask",
    ]
    resources = [aws_sqs_queue.dlq.arn, aws_sqs_queue.chunks_dlq.arn, aws_sqs_queue.split_failures.arn]
  }

  statement {
    sid       = "RedriveToTheirQueues"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ops.arn, aws_sqs_queue.chunks.arn]
  }

  # memo explain reads the op's log lines with CloudWatch Logs Insights.
  # StartQuery and GetQueryResults take the log group's ARN; StopQuery (memo
  # stops a query it gives up on) has no resource-level permission, so "*"
  # ("Actions, resources, and condition keys for Amazon CloudWatch Logs",
  # Service Authorization Reference).
  statement {
    sid       = "ExplainFromComputeLogs"
    actions   = ["logs:StartQuery", "logs:GetQueryResults"]
    resources = [aws_cloudwatch_log_group.compute.arn]
  }

  statement {
    sid       = "StopExplainQueries"
    actions   = ["logs:StopQuery"]
    resources = ["*"]
  }

  # memo resume sends a failed split's event to the splitter again.
  statement {
    sid       = "ResumeSplits"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.splitter.arn]
  }
}
