# make deploy WORKSPACE=prod applies these on top of the defaults
# (terraform/README.md lists every input).

# The results table refuses deletion (terraform destroy fails on it until
# this is set to false and applied), and the bucket is never emptied by
# Terraform (force_destroy stays false).
deletion_protection = true

log_retention_days    = 90
batch_retention_days  = 90
report_retention_days = 365

# Alarms notify memo-prod-alarms; subscribe the on-call address to it
# (terraform/README.md, "Alarms").
create_alarm_topic = true
