terraform {
  # 1.5: check blocks and workspace select -or-create; the Makefile installs
  # v1.5.7. Remote state: see backend.tf.example.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.25.0 is the schema make tf-check validates and plans against;
      # from 6.29.0, plan fails on the results table's batch index (a GSI
      # with a hash key and no range key): terraform/README.md, "Provider
      # versions".
      version = ">= 6.25.0, < 6.29.0"
    }
  }
}
