"""`python -m infra`: the app entry `cdktf.json` names, so `cdktf synth` works too."""

import os
from pathlib import Path

from infra.app import DEFAULT_OUTDIR, synthesize
from infra.environments import load_environments

if __name__ == "__main__":
    synthesize(load_environments(), Path(os.environ.get("CDKTF_OUTDIR", DEFAULT_OUTDIR)))
