"""`gitops validate` with the real terraform binary and the real aws provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.terraform import runner as terraform

from infra.environments import environment_names

ENVIRONMENTS = environment_names()

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))


def test_validate_every_environment(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    result = subprocess.run(
        [GITOPS, "validate", "--outdir", str(outdir)],
        env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for env in ENVIRONMENTS:
        assert f"fraud-detection-{env}: valid" in result.stdout
        providers = outdir / "stacks" / f"fraud-detection-{env}" / ".terraform" / "providers"
        installed = next(providers.rglob(terraform.platform_dir()))
        # One shared copy of the 700 MB provider: each stack links to the plugin cache.
        assert installed.is_symlink(), f"{installed} was copied, not linked"


def test_validate_rejects_an_invalid_stack(
    synth_outdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_dir = tmp_path / "fraud-detection-dev"
    stack_dir.mkdir()
    stack = json.loads(
        (synth_outdir / "stacks" / "fraud-detection-dev" / "cdk.tf.json").read_text()
    )
    vpc = next(iter(stack["resource"]["aws_vpc"].values()))
    vpc["cidr_blok"] = vpc.pop("cidr_block")
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack))
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path / "work"))
    runner = terraform.prepare()
    with pytest.raises(GitopsError, match="fraud-detection-dev: terraform validate failed: "):
        terraform.validate_stack(runner, stack_dir)


def test_validate_needs_a_synthesized_stack(tmp_path: Path) -> None:
    runner = terraform.TerraformRunner(Path(shutil.which("terraform") or "terraform"), {})
    with pytest.raises(GitopsError, match=r"no cdk\.tf\.json; run `gitops synth` first"):
        terraform.validate_stack(runner, tmp_path)


def test_prod_eu_validates_in_eu_west_1_from_a_cold_plugin_cache(tmp_path: Path) -> None:
    """prod's file in eu-west-1, added with no other edit; two stacks validated on a cold
    cache (the first fills it alone, the second links from it)."""
    from tests.helpers import environments_with_prod_eu

    environments = environments_with_prod_eu(tmp_path / "environments")
    outdir = tmp_path / "out"
    result = subprocess.run(
        [GITOPS, "validate", "prod", "prod-eu", "--outdir", str(outdir)],
        env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work"),
             "GITOPS_ENVIRONMENTS_DIR": str(environments)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "fraud-detection-prod-eu: valid" in result.stdout
    stack = json.loads((outdir / "stacks" / "fraud-detection-prod-eu" / "cdk.tf.json").read_text())
    assert stack["provider"]["aws"][0]["region"] == "eu-west-1"
    backend = stack["terraform"].pop("backend")["s3"]
    assert backend["key"] == "fraud-detection/prod-eu.tfstate"
    assert backend["region"] == "us-east-1", "the state stays in the account's state bucket"
    assert "us-east-1" not in json.dumps(stack), "nothing else of prod's region is left"
