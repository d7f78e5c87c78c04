terraform {
  # 1.5: check blocks and workspace select -or-create; the Makefile installs
  # v1.5.7. Remote state: see backend.tf.example.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.25.0 is the schema make tf-check validates and plans against.
      # Without a GSI nothing stops at 6.29.0 any more; 7.0 is expected to
      # drop hash_key, which later 6.x deprecate (a warning):
      # terraform/README.md, "Provider versions".
      version = ">= 6.25.0, < 7.0.0"
    }
  }
}
