# A new or small AWS account: the Lambda concurrency it has may be far below
# the default 1,000 ("New AWS accounts have reduced concurrency and memory
# quotas", Lambda quotas). make deploy's pre-flight (tools/tfguard) refuses
# settings that need more than the account's unreserved concurrency; these
# need 5 (2 + 2 + one S3-invoked split), the least the SQS mappings allow:
#
#   make deploy WORKSPACE=dev TF_ARGS='-var-file=small-account.tfvars'
#
# Batches take longer (2 compute invocations of up to 100 ops at a time);
# nothing else changes. Remove the file from TF_ARGS once AWS has raised the
# quota (Service Quotas, "Concurrent executions").
compute_max_concurrency = 2
split_chunk_concurrency = 2
