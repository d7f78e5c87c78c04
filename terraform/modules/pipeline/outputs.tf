output "region" {
  description = "AWS region the pipeline runs in."
  value       = local.region
}

output "account_id" {
  description = "AWS account id the pipeline runs in (part of the bucket name)."
  value       = local.account_id
}

output "workspace" {
  description = "Workspace that names the resources."
  value       = var.workspace
}

output "bucket" {
  description = "Name of the batch bucket: upload batch files under batches/, reports appear under reports/."
  value       = aws_s3_bucket.batches.id
}

output "bucket_arn" {
  description = "ARN of the batch bucket."
  value       = aws_s3_bucket.batches.arn
}

output "table" {
  description = "Name of the results table (hash key name)."
  value       = aws_dynamodb_table.results.name
}

output "table_arn" {
  description = "ARN of the results table."
  value       = aws_dynamodb_table.results.arn
}

output "batches_table" {
  description = "Name of the batches table (hash key batch): one item per upload, its state and counters."
  value       = aws_dynamodb_table.batches.name
}

output "batches_table_arn" {
  description = "ARN of the batches table."
  value       = aws_dynamodb_table.batches.arn
}

output "queue_url" {
  description = "URL of the ops queue."
  value       = aws_sqs_queue.ops.url
}

output "queue_arn" {
  description = "ARN of the ops queue."
  value       = aws_sqs_queue.ops.arn
}

output "dlq_url" {
  description = "URL of the ops queue's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the ops queue's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the ops queue, in seconds, derived from the compute timeout."
  value       = aws_sqs_queue.ops.visibility_timeout_seconds
}

output "splitter_function" {
  description = "Name of the splitter Lambda function."
  value       = aws_lambda_function.splitter.function_name
}

output "compute_function" {
  description = "Name of the compute Lambda function."
  value       = aws_lambda_function.compute.function_name
}

output "splitter_log_group" {
  description = "Log group of the splitter function."
  value       = aws_cloudwatch_log_group.splitter.name
}

output "compute_log_group" {
  description = "Log group of the compute function."
  value       = aws_cloudwatch_log_group.compute.name
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, or null when create_alarm_topic is off."
  value       = one(aws_sns_topic.alarms[*].arn)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = sort([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name])
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}

output "operator_policy_json" {
  description = "Least-privilege IAM policy (JSON) for operators of memo on this workspace: submit, results, status, batches, dlq list/redrive, resume."
  value       = data.aws_iam_policy_document.operator.json
}
