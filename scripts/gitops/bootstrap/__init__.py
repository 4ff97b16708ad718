"""One-time set-up of an environment: state backend, GitHub OIDC provider, pipeline roles."""
