terraform {
  # 1.5: check blocks and workspace select -or-create; the Makefile installs
  # v1.5.7. Remote state: see backend.tf.example.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
