# memo, one independent pipeline per Terraform workspace:
#
#   terraform workspace new dev && terraform apply -var-file=env/dev.tfvars
#
# (or make deploy WORKSPACE=dev). Everything is named memo-<workspace>-<role>.

locals {
  # A variable's default cannot name path.root, hence null -> ../build.
  artifacts_dir = var.artifacts_dir == null ? "${path.root}/../build" : var.artifacts_dir
}

module "pipeline" {
  source = "./modules/pipeline"

  workspace    = terraform.workspace
  splitter_zip = "${local.artifacts_dir}/splitter.zip"
  compute_zip  = var.compute_zip == null ? "${local.artifacts_dir}/compute.zip" : var.compute_zip

  splitter_memory_mb                = var.splitter_memory_mb
  compute_memory_mb                 = var.compute_memory_mb
  splitter_timeout_seconds          = var.splitter_timeout_seconds
  compute_timeout_seconds           = var.compute_timeout_seconds
  splitter_send_concurrency         = var.splitter_send_concurrency
  split_chunk_ops                   = var.split_chunk_ops
  split_pack_ops                    = var.split_pack_ops
  split_op_rules                    = var.split_op_rules
  split_chunk_concurrency           = var.split_chunk_concurrency
  compute_batch_size                = var.compute_batch_size
  compute_batching_window_seconds   = var.compute_batching_window_seconds
  compute_max_concurrency           = var.compute_max_concurrency
  max_receive_count                 = var.max_receive_count
  queue_retention_seconds           = var.queue_retention_seconds
  log_level                         = var.log_level
  log_retention_days                = var.log_retention_days
  xray_tracing                      = var.xray_tracing
  batch_retention_days              = var.batch_retention_days
  report_retention_days             = var.report_retention_days
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  force_destroy                     = var.force_destroy
  warm_throughput                   = var.warm_throughput
  table_encryption                  = var.table_encryption
  point_in_time_recovery            = var.point_in_time_recovery
  deletion_protection               = var.deletion_protection
  create_alarm_topic                = var.create_alarm_topic
  alarm_actions                     = var.alarm_actions
  oldest_message_alarm_seconds      = var.oldest_message_alarm_seconds
  compute_environment               = var.compute_environment
  compute_policy_statements         = var.compute_policy_statements
  allow_wildcard_actions            = var.allow_wildcard_actions
}
