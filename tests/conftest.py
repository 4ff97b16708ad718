"""Shared fixtures: one synthesized app per pytest process (the jsii runtime loads once)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All four environments synthesized once, in-process, into a session folder."""
    from infra.app import synthesize
    from infra.config import load_environments

    outdir = tmp_path_factory.mktemp("cdktf.out")
    synthesize(load_environments(), outdir)
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesized Terraform JSON per environment name."""
    from infra.app import stack_file
    from infra.config import ENVIRONMENTS

    return {
        name: json.loads(stack_file(synth_outdir, f"fraud-detection-{name}").read_text())
        for name in ENVIRONMENTS
    }
