"""The policy gate: checkov with custom checks and reviewed skips, and its reports."""
