"""Terraform itself: the runner (CLI config, mirror, plugin cache), plans and applies, plan JSON."""
