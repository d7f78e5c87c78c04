# Every optional resource and statement switched on, so that make tf-sec
# scans them too (tfsec evaluates count and dynamic blocks with the
# variables' values).
xray_tracing        = true
create_alarm_topic  = true
table_encryption    = "aws-managed"
force_destroy       = true
deletion_protection = true
alarm_actions       = ["arn:aws:sns:eu-west-1:123456789012:ops-pager"]
warm_throughput     = { read_units_per_second = 12000, write_units_per_second = 25000 }
