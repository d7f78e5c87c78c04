# The policy tests' plan "policy" (test/policy/plan_test.go): every value
# differs from its default, so that a value typed in place of its variable
# shows in the plan. plan_test.go reads them (policyVars): numbers only.
compute_timeout_seconds         = 37
compute_batching_window_seconds = 3
compute_batch_size              = 77
compute_max_concurrency         = 9
max_receive_count               = 7
queue_retention_seconds         = 123456
log_retention_days              = 14
batch_retention_days            = 11
report_retention_days           = 45
