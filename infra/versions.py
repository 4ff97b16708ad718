"""Tool and provider versions the repository is pinned to (importing this loads no jsii)."""

AWS_PROVIDER_VERSION = "5.100.0"
"""hashicorp/aws release the pinned binding (cdktf-cdktf-provider-aws 20.1.0) was generated for."""

TERRAFORM_VERSION = "1.11.4"
"""Terraform the Makefile, the workflows and the tests expect (`terraform version`)."""
