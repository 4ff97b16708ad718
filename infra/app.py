"""Synthesize environments to `cdktf.out/stacks/fraud-detection-<env>/cdk.tf.json`.

Synthesis runs into a scratch folder inside the output folder and each finished stack is then
swapped into place file by file, so a failed synth leaves the previous output untouched and never a
half-written file. Stacks not named in a run are left as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cdktf import App

from infra.config import EnvironmentConfig
from infra.stack import FraudDetectionStack

DEFAULT_OUTDIR = Path("cdktf.out")


def build_app(configs: Sequence[EnvironmentConfig], outdir: Path) -> App:
    """The app with one stack per environment.

    cdktf's own validations are skipped. They check that a provider is declared, which every
    stack does, and for each `terraform_data` resource they run `terraform version` to see
    that it is at least 1.4: 24 processes and 2.3 s of every synth. The stacks' own
    `required_version` makes Terraform refuse a wrong version where it matters, at plan time.
    """
    app = App(outdir=str(outdir), skip_validation=True)
    for config in configs:
        FraudDetectionStack(app, config)
    return app


def stack_file(outdir: Path, stack_name: str) -> Path:
    return outdir / "stacks" / stack_name / "cdk.tf.json"


def synthesize(configs: Sequence[EnvironmentConfig], outdir: Path = DEFAULT_OUTDIR) -> list[Path]:
    """Synthesize the given environments into `outdir`; returns the written stack files."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir))
    try:
        build_app(configs, scratch).synth()
        written = []
        for config in configs:
            written.append(_move_stack(scratch, outdir, config.stack_name))
        _merge_manifest(scratch / "manifest.json", outdir / "manifest.json")
        return written
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move_stack(scratch: Path, outdir: Path, stack_name: str) -> Path:
    """Swap each synthesized file into place with an atomic rename.

    Files are replaced one by one rather than the folder as a whole, so Terraform's working
    files beside them (`.terraform/`, `.terraform.lock.hcl`) survive a re-synth.
    """
    source = scratch / "stacks" / stack_name
    target = outdir / "stacks" / stack_name
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.iterdir()):
        os.replace(item, target / item.name)
    return stack_file(outdir, stack_name)


def _merge_manifest(new: Path, existing: Path) -> None:
    """Keep one manifest listing every stack synthesized so far, as `cdktf` expects."""
    manifest = json.loads(new.read_text())
    if existing.exists():
        try:
            previous = json.loads(existing.read_text())
            manifest["stacks"] = {**previous.get("stacks", {}), **manifest["stacks"]}
        except (json.JSONDecodeError, AttributeError):
            pass
    temporary = existing.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, existing)
