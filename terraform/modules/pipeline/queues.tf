# The ops queue (one message per op) and its dead-letter queue.

#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; a customer managed key would add KMS calls on every send and receive and a key policy for both functions.
resource "aws_sqs_queue" "ops" {
  name = local.names.queue

  # Derived from the compute timeout (see local.visibility_timeout_seconds):
  # never typed here.
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.queue_retention_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

#tfsec:ignore:aws-sqs-queue-encryption-use-cmk SQS-managed SSE encrypts every message; see the ops queue.
resource "aws_sqs_queue" "dlq" {
  name                      = local.names.dlq
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

# Only the ops queue may use the DLQ as its dead-letter queue; redriving
# (memo dlq redrive, or the console) moves messages back to it.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.ops.arn]
  })
}
