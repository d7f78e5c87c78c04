terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The module reads data.aws_region.current.region, which provider 6.0
      # introduced; the root module pins the major version.
      version = ">= 6.0"
    }
  }
}
