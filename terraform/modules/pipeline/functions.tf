# The two Lambda functions, their log groups, and what triggers them.

#tfsec:ignore:aws-cloudwatch-log-group-customer-key CloudWatch Logs encrypts every log group by default; a customer managed key would need a key policy for the logs service, for logs that carry no op payloads.
resource "aws_cloudwatch_log_group" "splitter" {
  name              = "/aws/lambda/${local.names.splitter}"
  retention_in_days = var.log_retention_days
}

#tfsec:ignore:aws-cloudwatch-log-group-customer-key CloudWatch Logs encrypts every log group by default; see the splitter's log group.
resource "aws_cloudwatch_log_group" "compute" {
  name              = "/aws/lambda/${local.names.compute}"
  retention_in_days = var.log_retention_days
}

# The functions read their environment in internal/aws/app (Env* constants;
# test/policy checks that both sides name the same variables). MEMO_WORKSPACE
# is the value of the workspace dimension of their EMF metrics (the function
# dimension is "splitter" or "compute", fixed in internal/aws/emf).

# Splitter: S3 batch file -> validated ops on the ops queue + a report.
#tfsec:ignore:aws-lambda-enable-tracing Active tracing is opt-in through var.xray_tracing: traces cost per segment and the pipeline's metrics come from EMF.
resource "aws_lambda_function" "splitter" {
  function_name    = local.names.splitter
  description      = "memo ${var.workspace}: splits uploaded batch files into ops on the ops queue"
  role             = aws_iam_role.splitter.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = var.splitter_zip
  source_code_hash = filebase64sha256(var.splitter_zip)
  memory_size      = var.splitter_memory_mb
  timeout          = var.splitter_timeout_seconds

  environment {
    variables = {
      MEMO_QUEUE_URL        = aws_sqs_queue.ops.url
      MEMO_CHUNK_QUEUE_URL  = aws_sqs_queue.chunks.url
      MEMO_BATCHES_TABLE    = aws_dynamodb_table.batches.name
      MEMO_CHUNK_OPS        = tostring(var.split_chunk_ops)
      MEMO_PACK_OPS         = tostring(var.split_pack_ops)
      MEMO_OP_RULES         = var.split_op_rules
      MEMO_SEND_CONCURRENCY = tostring(var.splitter_send_concurrency)
      MEMO_WORKSPACE        = var.workspace
      MEMO_LOG_LEVEL        = var.log_level
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.splitter.name
    application_log_level = local.lambda_application_log_level
    system_log_level      = "INFO"
  }

  tracing_config {
    mode = var.xray_tracing ? "Active" : "PassThrough"
  }

  # The role's permissions exist before the first invocation can happen.
  depends_on = [aws_iam_role_policy.splitter, aws_iam_role_policy.splitter_chunks]
}

# Compute: a batch of op messages -> results in the table, with a partial
# batch response naming the messages to retry.
#tfsec:ignore:aws-lambda-enable-tracing Active tracing is opt-in through var.xray_tracing; see the splitter.
resource "aws_lambda_function" "compute" {
  function_name    = local.names.compute
  description      = "memo ${var.workspace}: evaluates ops from the ops queue into the results table"
  role             = aws_iam_role.compute.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = var.compute_zip
  source_code_hash = filebase64sha256(var.compute_zip)
  memory_size      = var.compute_memory_mb
  timeout          = var.compute_timeout_seconds

  # The user's function's own settings, then memo's (which win).
  environment {
    variables = merge(var.compute_environment, {
      MEMO_TABLE         = aws_dynamodb_table.results.name
      MEMO_BATCHES_TABLE = aws_dynamodb_table.batches.name
      MEMO_WORKSPACE     = var.workspace
      MEMO_LOG_LEVEL     = var.log_level
    })
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.compute.name
    application_log_level = local.lambda_application_log_level
    system_log_level      = "INFO"
  }

  tracing_config {
    mode = var.xray_tracing ? "Active" : "PassThrough"
  }

  depends_on = [aws_iam_role_policy.compute, aws_iam_role_policy.compute_function]
}

# S3 may invoke the splitter, for this bucket in this account only.
resource "aws_lambda_permission" "splitter_from_bucket" {
  statement_id   = "AllowBatchBucketNotifications"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.splitter.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.batches.arn
  source_account = local.account_id
}

# Uploads of batches/ files of every batch format (local.batch_suffixes)
# invoke the splitter. Nothing else does: the splitter's own reports/ objects
# match no filter, so it can never retrigger itself.
resource "aws_s3_bucket_notification" "batches" {
  bucket = aws_s3_bucket.batches.id

  dynamic "lambda_function" {
    for_each = local.batch_suffixes
    content {
      # batches-json, batches-jsonl, batches-csv, batches-json-gz, ...
      id                  = "batches-${replace(trimprefix(lambda_function.value, "."), ".", "-")}"
      lambda_function_arn = aws_lambda_function.splitter.arn
      events              = ["s3:ObjectCreated:*"]
      filter_prefix       = local.batch_prefix
      filter_suffix       = lambda_function.value
    }
  }

  # S3 validates the destination when the notification is written: the
  # permission must exist first.
  depends_on = [aws_lambda_permission.splitter_from_bucket]
}

# The ops queue feeds compute. ReportBatchItemFailures makes Lambda honour
# compute's partial batch response (without it the response is ignored and a
# failed message would be deleted with its batch); maximum_concurrency bounds
# the write rate on the results table.
resource "aws_lambda_event_source_mapping" "compute" {
  event_source_arn                   = aws_sqs_queue.ops.arn
  function_name                      = aws_lambda_function.compute.arn
  batch_size                         = var.compute_batch_size
  maximum_batching_window_in_seconds = var.compute_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.compute_max_concurrency
  }

  # Lambda checks the role's SQS permissions when the mapping is created.
  depends_on = [aws_iam_role_policy.compute]

  lifecycle {
    precondition {
      condition     = var.compute_batch_size <= 10 || var.compute_batching_window_seconds >= 1
      error_message = "A batch size above 10 needs a batching window of at least 1 second (an SQS event source mapping rule)."
    }
  }
}
