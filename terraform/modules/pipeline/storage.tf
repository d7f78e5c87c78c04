# The batch bucket (uploads under batches/, reports under reports/) and the
# results table.

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

# The results table, one item per op name. The index (local.batch_index)
# lets memo results --batch and memo status find and count a batch's items.
# It is keyed on batch_shard, "<batch id>#<k>" with k a hash of the op name
# mod 32 (record.IndexShards): one key per batch would cap a batch's writes
# near 1,000 a second, DynamoDB's limit per partition key value, which a
# GSI passes back to the table's writes (GSI back-pressure). It replaced
# the index "batch" (hash key batch): a new name, so the provider drops the
# old index and builds the new one; results written before then have no
# batch_shard and are not in it.
#
# DEVIATION from a KEYS_ONLY index (decided by the lead): the index projects
# INCLUDE ["status"], so that memo status counts ok/error per batch from the
# index alone, without reading each item from the table. An index item is
# then name + batch + status, still far below 1 KB, so each write to the
# index costs the same single write request unit as KEYS_ONLY would.
#
# hash_key (of the table and of the index) works with every 6.x provider;
# recent 6.x releases deprecate it in favour of key_schema blocks, which older
# 6.x releases reject. Switch when the root module's constraint is raised.
#
#tfsec:ignore:aws-dynamodb-table-customer-key Encrypted at rest with DynamoDB's AWS owned key by default (free); table_encryption chooses the AWS managed key or a customer managed key, which add KMS request charges and, for a customer key, a key policy to manage, for results that hold no secrets.
resource "aws_dynamodb_table" "results" {
  name         = local.names.table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "name"

  attribute {
    name = "name"
    type = "S"
  }

  dynamic "attribute" {
    for_each = var.enable_batch_index ? ["batch_shard"] : []
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.enable_batch_index ? [local.batch_index] : []
    content {
      name               = global_secondary_index.value
      hash_key           = "batch_shard"
      projection_type    = "INCLUDE"
      non_key_attributes = ["status"]

      dynamic "warm_throughput" {
        for_each = var.warm_throughput == null ? [] : [var.warm_throughput]
        content {
          read_units_per_second  = warm_throughput.value.read_units_per_second
          write_units_per_second = warm_throughput.value.write_units_per_second
        }
      }
    }
  }

  # Pre-warming, off by default: the table and its index alike, since each
  # result is one write to each (docs.aws.amazon.com/amazondynamodb/latest/
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
