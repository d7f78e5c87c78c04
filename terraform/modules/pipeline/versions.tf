terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The module reads data.aws_region.current.region, which provider 6.0
      # introduced. From 6.29.0, plan fails on a GSI with a hash key and no
      # range key, the batch index's shape (hashicorp/terraform-provider-aws
      # issues #46606, #46285, #46755): terraform/README.md, "Provider
      # versions".
      version = ">= 6.0, < 6.29.0"
    }
  }
}
