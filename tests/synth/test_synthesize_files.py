"""Synthesis output on disk: atomic, partial runs keep other stacks, Terraform files survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.environments import load_environment

# infra.app and infra.stack load the jsii runtime (seconds): imported by the tests that
# synthesize, so that collecting this file costs a worker that runs none of them nothing.


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    return tmp_path / "cdktf.out"


def test_a_failed_synth_leaves_previous_output_untouched(
    outdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import infra.app
    from infra.app import stack_file, synthesize
    from infra.stack import FraudDetectionStack

    dev, staging = load_environment("dev"), load_environment("staging")
    synthesize([dev], outdir)
    before = stack_file(outdir, dev.stack_name).read_bytes()

    def failing_stack(scope, config):
        if config.name == "staging":
            raise ValueError("boom in the staging stack")
        return FraudDetectionStack(scope, config)

    monkeypatch.setattr(infra.app, "FraudDetectionStack", failing_stack)
    with pytest.raises(ValueError, match="boom"):
        synthesize([dev, staging], outdir)

    assert stack_file(outdir, dev.stack_name).read_bytes() == before
    assert not stack_file(outdir, staging.stack_name).exists()
    assert not list(outdir.glob(".synth-*")), "scratch folders must be cleaned up"


def test_synthesizing_one_environment_keeps_the_others(outdir: Path) -> None:
    from infra.app import stack_file, synthesize

    dev, prod = load_environment("dev"), load_environment("prod")
    synthesize([dev], outdir)
    synthesize([prod], outdir)
    assert stack_file(outdir, dev.stack_name).is_file()
    assert stack_file(outdir, prod.stack_name).is_file()
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {dev.stack_name, prod.stack_name}


def test_terraform_working_files_survive_a_resynth(outdir: Path) -> None:
    from infra.app import stack_file, synthesize

    dev = load_environment("dev")
    synthesize([dev], outdir)
    stack_dir = stack_file(outdir, dev.stack_name).parent
    (stack_dir / ".terraform").mkdir()
    (stack_dir / ".terraform.lock.hcl").write_text("# lock\n")
    synthesize([dev], outdir)
    assert (stack_dir / ".terraform").is_dir()
    assert (stack_dir / ".terraform.lock.hcl").read_text() == "# lock\n"


def test_network_props_refuse_bad_combinations() -> None:
    from infra.naming import Naming
    from infra.network import NetworkProps

    with pytest.raises(ValueError, match=r"NetworkProps.vpc_cidr 10.0.0.0/26: too small"):
        NetworkProps(naming=Naming("dev"), region="us-east-1", vpc_cidr="10.0.0.0/26", az_count=3)
    with pytest.raises(ValueError, match=r"NetworkProps.az_count 9: must be 1..6"):
        NetworkProps(naming=Naming("dev"), region="us-east-1", vpc_cidr="10.0.0.0/16", az_count=9)
