locals {
  # Endpoint overrides point the same configuration at an AWS emulator
  # (LocalStack, moto in server mode). With any override set, the provider
  # also skips the calls an emulator cannot answer like AWS and addresses S3
  # buckets by path.
  emulated = length(var.endpoints) > 0
}

provider "aws" {
  region = var.region

  s3_use_path_style           = local.emulated
  skip_credentials_validation = local.emulated
  skip_requesting_account_id  = local.emulated

  endpoints {
    cloudwatch = lookup(var.endpoints, "cloudwatch", null)
    dynamodb   = lookup(var.endpoints, "dynamodb", null)
    iam        = lookup(var.endpoints, "iam", null)
    lambda     = lookup(var.endpoints, "lambda", null)
    logs       = lookup(var.endpoints, "logs", null)
    s3         = lookup(var.endpoints, "s3", null)
    sns        = lookup(var.endpoints, "sns", null)
    sqs        = lookup(var.endpoints, "sqs", null)
    sts        = lookup(var.endpoints, "sts", null)
  }

  default_tags {
    tags = merge(var.tags, {
      Project   = "memo"
      Workspace = terraform.workspace
      ManagedBy = "terraform"
    })
  }
}
