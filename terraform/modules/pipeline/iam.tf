# One execution role per function. Each statement names exact actions on
# exact ARNs; the only wildcards are the log streams under the function's own
# log group (Lambda names the streams) and the object keys under the one
# prefix a function reads or writes.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "splitter" {
  name               = local.names.splitter
  description        = "memo ${var.workspace}: execution role of the splitter function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role" "compute" {
  name               = local.names.compute
  description        = "memo ${var.workspace}: execution role of the compute function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "splitter" {
  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    #tfsec:ignore:aws-iam-no-policy-wildcards Lambda names its log streams at run time; the wildcard covers only the streams of this function's own log group.
    resources = ["${aws_cloudwatch_log_group.splitter.arn}:log-stream:*"]
  }

  # The batch object, by key and by version (the splitter reads the version
  # named in the S3 event).
  statement {
    sid     = "ReadBatches"
    actions = ["s3:GetObject", "s3:GetObjectVersion"]
    #tfsec:ignore:aws-iam-no-policy-wildcards Uploaders choose the batch keys; the wildcard covers only objects under batches/ in this one bucket.
    resources = ["${aws_s3_bucket.batches.arn}/${local.batch_prefix}*"]
  }

  statement {
    sid     = "WriteReports"
    actions = ["s3:PutObject"]
    #tfsec:ignore:aws-iam-no-policy-wildcards Report keys follow the batch keys; the wildcard covers only objects under reports/ in this one bucket.
    resources = ["${aws_s3_bucket.batches.arn}/${local.report_prefix}*"]
  }

  # Each report is mirrored into the upload's item of the batches table.
  statement {
    sid       = "MirrorReports"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.batches.arn]
  }

  # sqs:SendMessage also authorizes SendMessageBatch.
  statement {
    sid       = "EnqueueOps"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ops.arn]
  }

  dynamic "statement" {
    for_each = var.xray_tracing ? ["xray"] : []
    content {
      sid = "WriteTraces"
      # X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level
      # permissions: "*" is the only resource they accept.
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "compute" {
  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    #tfsec:ignore:aws-iam-no-policy-wildcards Lambda names its log streams at run time; the wildcard covers only the streams of this function's own log group.
    resources = ["${aws_cloudwatch_log_group.compute.arn}:log-stream:*"]
  }

  statement {
    sid       = "WriteResults"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.results.arn]
  }

  # The batch counters: an UpdateItem ADD per batch per invocation.
  statement {
    sid       = "CountResults"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.batches.arn]
  }

  # The ops of a redelivered message are read before they are written
  # again (a read costs a fraction of a write): internal/pipeline/compute.
  statement {
    sid       = "ReadRedeliveredResults"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.results.arn]
  }

  # What the SQS event source mapping needs on the ops queue;
  # ChangeMessageVisibility lets compute shorten a failed message's wait.
  statement {
    sid = "ConsumeOps"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.ops.arn]
  }

  dynamic "statement" {
    for_each = var.xray_tracing ? ["xray"] : []
    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "splitter" {
  name   = local.names.splitter
  role   = aws_iam_role.splitter.id
  policy = data.aws_iam_policy_document.splitter.json
}

resource "aws_iam_role_policy" "compute" {
  name   = local.names.compute
  role   = aws_iam_role.compute.id
  policy = data.aws_iam_policy_document.compute.json
}

# A user's function reaches its own resources (var.compute_policy_statements)
# through a policy of its own: memo's statements above stay as they are.
data "aws_iam_policy_document" "compute_function" {
  dynamic "statement" {
    for_each = var.compute_policy_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "compute_function" {
  count  = length(var.compute_policy_statements) > 0 ? 1 : 0
  name   = "${local.names.compute}-function"
  role   = aws_iam_role.compute.id
  policy = data.aws_iam_policy_document.compute_function.json

  lifecycle {
    precondition {
      condition     = var.allow_wildcard_actions || alltrue([for s in var.compute_policy_statements : alltrue([for a in s.actions : !strcontains(a, "*")])])
      error_message = "compute_policy_statements grants an action with a wildcard (*): list the actions the function needs, or set allow_wildcard_actions = true."
    }
  }
}
