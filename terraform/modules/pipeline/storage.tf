# The batch bucket (uploads under batches/, reports under reports/), the
# results table and the batches table.

#tfsec:ignore:aws-s3-enable-bucket-logging Server access logs would need a second bucket per workspace; object-level auditing belongs to the account's CloudTrail data events.
resource "aws_s3_bucket" "batches" {
  bucket        = local.names.bucket
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "batches" {
  bucket = aws_s3_bucket.batches.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "batches" {
  bucket = aws_s3_bucket.batches.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

#tfsec:ignore:aws-s3-encryption-customer-key SSE-S3 (AES256) encrypts every object; a customer managed KMS key would add per-request KMS charges and a key policy every uploader must be granted, for batch files that hold expressions, not secrets.
resource "aws_s3_bucket_server_side_encryption_configuration" "batches" {
  bucket = aws_s3_bucket.batches.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "batches" {
  bucket = aws_s3_bucket.batches.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "batches" {
  bucket = aws_s3_bucket.batches.id

  rule {
    id     = "expire-batches"
    status = "Enabled"

    filter {
      prefix = local.batch_prefix
    }

    expiration {
      days = var.batch_retention_days
    }
  }

  rule {
    id     = "expire-reports"
    status = "Enabled"

    filter {
      prefix = local.report_prefix
    }

    expiration {
      days = var.report_retention_days
    }
  }

  rule {
    id     = "clean-up"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # Lifecycle rules on a versioned bucket act on versions: configure after
  # versioning.
  depends_on = [aws_s3_bucket_versioning.batches]
}

# TLS only (and TLS 1.2 or later) for every request, whoever makes it.
data "aws_iam_policy_document" "batches_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.batches.arn, "${aws_s3_bucket.batches.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTLS"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.batches.arn, "${aws_s3_bucket.batches.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "batches" {
  bucket = aws_s3_bucket.batches.id
  policy = data.aws_iam_policy_document.batches_bucket.json

  # S3 refuses a bucket policy while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.batches]
}

# The results table, one item per op name, and nothing else: no index.
# memo status counts a batch from its counters in the batches table (below)
# and, when they do not close or when asked, reads the batch's names from
# its object and BatchGetItems them (docs/design.md, "Counting a batch").
# The batch index (batch-shard) it had wrote every result a second time;
# an apply drops it (terraform/README.md, "Provider versions").
#
# hash_key works with every 6.x provider; later 6.x releases deprecate it in
# favour of key_schema blocks, which the providers this module accepts
# before them reject (terraform/README.md, "Provider versions").
#
resource "aws_dynamodb_table" "results" {
  name         = local.names.table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "name"

  attribute {
    name = "name"
    type = "S"
  }

  # Pre-warming, off by default (docs.aws.amazon.com/amazondynamodb/latest/
  # developerguide/warm-throughput.html).
  dynamic "warm_throughput" {
    for_each = var.warm_throughput == null ? [] : [var.warm_throughput]
    content {
      read_units_per_second  = warm_throughput.value.read_units_per_second
      write_units_per_second = warm_throughput.value.write_units_per_second
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  # DynamoDB encrypts every table at rest. enabled = false keeps its AWS
  # owned key (free); true uses the AWS managed key aws/dynamodb, or the key
  # given, with KMS request charges (AWS::DynamoDB::Table SSESpecification:
  # "If enabled (true) ... an AWS managed key is used (AWS KMS charges
  # apply). If disabled (false) or not specified ... AWS owned key").
  #tfsec:ignore:aws-dynamodb-enable-at-rest-encryption DynamoDB encrypts every table at rest; enabled = false selects the AWS owned key (free), not an unencrypted table (AWS::DynamoDB::Table SSESpecification); table_encryption selects KMS.
  server_side_encryption {
    enabled     = var.table_encryption != "aws-owned"
    kms_key_arn = startswith(var.table_encryption, "arn:") ? var.table_encryption : null
  }

  deletion_protection_enabled = local.deletion_protection
}

# The batches table: one small item per upload (key "batch", the batch id):
# the splitter's report mirrored (key, stamp, state, totals, times; written
# where reports are stored, internal/aws/batches) and the counters ok, error
# and superseded that compute ADDs, one UpdateItem per batch per invocation.
# memo status reads it with one GetItem, memo batches with a Scan. Same
# deletion protection, point-in-time recovery and encryption as the results
# table; never pre-warmed (a few writes per invocation, not per op).
#
#tfsec:ignore:aws-dynamodb-table-customer-key As the results table: DynamoDB's AWS owned key by default; table_encryption chooses KMS.
resource "aws_dynamodb_table" "batches" {
  name         = local.names.batches
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "batch"

  attribute {
    name = "batch"
    type = "S"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  #tfsec:ignore:aws-dynamodb-enable-at-rest-encryption As the results table: enabled = false selects the AWS owned key, not an unencrypted table.
  server_side_encryption {
    enabled     = var.table_encryption != "aws-owned"
    kms_key_arn = startswith(var.table_encryption, "arn:") ? var.table_encryption : null
  }

  deletion_protection_enabled = local.deletion_protection
}
