# make deploy WORKSPACE=dev applies these on top of the defaults
# (terraform/README.md lists every input).

# Test workspace: destroy may empty the bucket, and nothing is protected.
force_destroy       = true
deletion_protection = false

log_level              = "debug"
log_retention_days     = 7
batch_retention_days   = 7
report_retention_days  = 14
point_in_time_recovery = false
