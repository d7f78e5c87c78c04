terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The module reads data.aws_region.current.region, which provider 6.0
      # introduced. Its tables have no GSI, so 6.29.0's plan failure on a
      # hash-only GSI (issues #46606, #46285, #46755) does not apply; 7.0
      # is expected to drop hash_key, which later 6.x deprecate:
      # terraform/README.md, "Provider versions".
      version = ">= 6.0, < 7.0.0"
    }
  }
}
