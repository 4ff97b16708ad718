"""Custom checkov checks of the fraud-detection stacks (checkov needs this file to load them)."""
