"""`gitops`: the pipeline's own tooling (synth, validate, and later plan, apply, promote)."""
