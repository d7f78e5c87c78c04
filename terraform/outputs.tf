# memo --from-terraform, Terratest and the README's aws commands read these:
# keep the names.

output "region" {
  description = "AWS region the pipeline runs in."
  value       = module.pipeline.region
}

output "account_id" {
  description = "AWS account id the pipeline runs in (part of the bucket name)."
  value       = module.pipeline.account_id
}

output "workspace" {
  description = "Terraform workspace that names the resources, memo-<workspace>-<role>."
  value       = module.pipeline.workspace
}

output "bucket" {
  description = "Batch bucket: upload batch files under batches/ (.json, .jsonl, .csv, each also .gz); reports appear under reports/."
  value       = module.pipeline.bucket
}

output "table" {
  description = "Results table, one item per op name (hash key name)."
  value       = module.pipeline.table
}

output "batches_table" {
  description = "Batches table, one item per upload: its state and counters (memo status, memo batches)."
  value       = module.pipeline.batches_table
}

output "queue_url" {
  description = "URL of the ops queue."
  value       = module.pipeline.queue_url
}

output "dlq_url" {
  description = "URL of the ops queue's dead-letter queue."
  value       = module.pipeline.dlq_url
}

output "splitter_function" {
  description = "Name of the splitter Lambda function."
  value       = module.pipeline.splitter_function
}

output "compute_function" {
  description = "Name of the compute Lambda function."
  value       = module.pipeline.compute_function
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the pipeline."
  value       = module.pipeline.dashboard_name
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, or null when create_alarm_topic is false."
  value       = module.pipeline.alarm_topic_arn
}

output "operator_policy_json" {
  description = "Least-privilege IAM policy (JSON) for operators of memo: submit, results, status, batches, dlq list/redrive, resume. Attach it to their role or group."
  value       = module.pipeline.operator_policy_json
}
