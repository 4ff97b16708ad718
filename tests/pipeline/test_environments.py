"""A new region is one file: `prod-eu` (prod's file in eu-west-1) added in a scratch folder,
with no other edit, reaches the workflows' matrices, the plan comment and promotion."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitops.pipeline.plan_comment import EnvironmentPlan, parse_header
from gitops.pipeline.promote_wave import promote_wave

from infra.config import REPO_ROOT
from infra.environments import load_environment
from infra.pipeline_settings import MAX_WAVES
from tests.helpers import environments_with_prod_eu, gitops_in_process

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
NEW_DIGEST = "sha256:" + "cd34ef56" * 8


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = environments_with_prod_eu(tmp_path / "environments")
    monkeypatch.setenv("GITOPS_ENVIRONMENTS_DIR", str(directory))
    return directory


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return gitops_in_process(args, {**os.environ, **env}, cwd)


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def job_matrices(name: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Run the workflow's own `gitops environments` step as Actions would, then resolve each
    job's `matrix: ${{ fromJSON(needs.<job>.outputs.<output>) }}` to the value it gets."""
    document = workflow(name)
    jobs = document["jobs"]
    step_outputs: dict[str, dict[str, str]] = {}
    for job_name, job in jobs.items():
        for step in job.get("steps", []):
            if step.get("id") != "environments":
                continue
            output_file = tmp_path / f"{name}-{job_name}.out"
            words = step["run"].split()
            assert words[0] == ".venv/bin/gitops", step["run"]
            result = run(*words[1:], GITHUB_OUTPUT=str(output_file))
            assert result.returncode == 0, result.stderr
            lines = output_file.read_text().splitlines()
            step_outputs[job_name] = dict(line.split("=", 1) for line in lines)
    matrices = {}
    for job_name, job in jobs.items():
        matrix = job.get("strategy", {}).get("matrix")
        if not isinstance(matrix, str):
            continue
        match = re.fullmatch(r"\$\{\{ fromJSON\(needs\.(\w+)\.outputs\.(\w+)\) \}\}", matrix)
        assert match, f"{name}: {job_name}: matrix must come from an earlier job's output"
        needed, output = match.groups()
        step_expression = jobs[needed]["outputs"][output]
        step_output = re.fullmatch(
            r"\$\{\{ steps\.environments\.outputs\.(\w+) \}\}", step_expression
        )
        assert step_output, f"{name}: {needed}.outputs.{output} must be gitops environments'"
        matrices[job_name] = json.loads(step_outputs[needed][step_output.group(1)])
    return matrices


def names(matrix: dict[str, Any]) -> list[str]:
    return [entry["environment"] for entry in matrix["include"]]


def test_the_deploy_matrices_put_prod_eu_in_prods_wave(scratch: Path, tmp_path: Path) -> None:
    matrices = job_matrices("deploy.yml", tmp_path)
    assert sorted(matrices) == [f"wave-{n}" for n in range(1, MAX_WAVES + 1)]
    assert names(matrices["wave-1"]) == ["dev"]
    assert names(matrices["wave-2"]) == ["staging"]
    assert names(matrices["wave-3"]) == ["prod", "prod-eu"]
    assert names(matrices["wave-4"]) == []
    prod_eu = matrices["wave-3"]["include"][1]
    assert prod_eu == {
        "environment": "prod-eu",
        "region": "eu-west-1",
        "role_arn": "arn:aws:iam::333333333333:role/fraud-gitops-apply-prod-eu",
    }


@pytest.mark.parametrize(("name", "job"), [("pr.yml", "plan"), ("drift.yml", "drift")])
def test_the_plan_and_drift_matrices_include_prod_eu_and_never_local(
    scratch: Path, tmp_path: Path, name: str, job: str
) -> None:
    matrix = job_matrices(name, tmp_path)[job]
    assert names(matrix) == ["dev", "staging", "prod", "prod-eu"]
    assert matrix["include"][3]["region"] == "eu-west-1"
    assert matrix["include"][3]["role_arn"].endswith(":role/fraud-gitops-plan-prod-eu")


def test_a_fifth_wave_is_a_clear_error(scratch: Path, tmp_path: Path) -> None:
    prod_eu = scratch / "prod-eu.yaml"
    prod_eu.write_text(prod_eu.read_text().replace("  wave: 3\n", "  wave: 5\n"))
    output = tmp_path / "github-output"
    result = run("environments", "--github-output", GITHUB_OUTPUT=str(output))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "prod-eu.yaml: pipeline.wave: wave 5 is outside 1..4" in result.stderr
    assert not output.exists(), "no matrix is written from invalid files"


def test_environments_lists_what_people_need(scratch: Path) -> None:
    listing = json.loads(run("environments", "--json").stdout)["environments"]
    prod_eu = next(item for item in listing if item["name"] == "prod-eu")
    assert prod_eu == {
        "name": "prod-eu",
        "stack": "fraud-detection-prod-eu",
        "region": "eu-west-1",
        "account_id": "333333333333",
        "deploy": True,
        "wave": 3,
        "plan_role_arn": "arn:aws:iam::333333333333:role/fraud-gitops-plan-prod-eu",
        "apply_role_arn": "arn:aws:iam::333333333333:role/fraud-gitops-apply-prod-eu",
        "state_bucket": "fraud-detection-tfstate-333333333333",
        "state_key": "fraud-detection/prod-eu.tfstate",
        "state_region": "us-east-1",
    }
    table = run("environments").stdout.splitlines()
    assert table[0].split()[:4] == ["name", "region", "account", "wave"]
    assert any(line.startswith("prod-eu ") and " eu-west-1 " in line for line in table)


def test_the_plan_comment_has_a_section_for_prod_eu(scratch: Path, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_vpc.network_vpc", "type": "aws_vpc",
             "change": {"actions": ["create"], "before": None, "after": {"cidr_block": "x"},
                        "after_unknown": {}, "before_sensitive": False, "after_sensitive": {}}},
        ],
        "output_changes": {},
    }  # fmt: skip
    summary = EnvironmentPlan.from_plan("prod-eu", plan).to_summary()
    (plans / "fraud-detection-prod-eu").mkdir(parents=True)
    (plans / "fraud-detection-prod-eu" / "plan-summary.json").write_text(json.dumps(summary))
    result = run("comment", "--plans-dir", str(plans), "--allow-missing")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    rows = {
        line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")
    }
    assert list(rows) == ["`dev`", "`staging`", "`prod`", "`prod-eu`"], "one row each, by wave"
    assert "<b><code>prod-eu</code></b>: 1 to add" in text
    for name in ("dev", "staging", "prod"):
        assert rows[f"`{name}`"].endswith("| **no plan** |")
    assert "`local`" not in text, "the emulator is never planned by the pipeline"
    header = parse_header(text)
    assert header is not None and set(header["fingerprints"]) == {"prod-eu"}
    assert header["counts"]["prod-eu"]["add"] == 1
    assert header["fingerprints"]["prod-eu"].removeprefix("sha256:")[:12] in rows["`prod-eu`"]
    missing = run("comment", "--plans-dir", str(plans))
    assert missing.returncode != 0 and "plan-summary.json" in missing.stderr


def set_release(directory: Path, name: str, digest: str) -> None:
    path = directory / f"{name}.yaml"
    text = path.read_text()
    old = load_environment(name, directory).release.image_digest
    path.write_text(text.replace(old, digest))


def test_promote_to_prod_covers_its_whole_wave_in_one_pull_request(scratch: Path) -> None:
    set_release(scratch, "staging", NEW_DIGEST)
    result = run("promote", "--from", "staging", "--to", "prod", "--pr-body-file",
                 str(scratch.parent / "body.md"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "promoted staging -> prod:" in result.stdout
    assert "promoted staging -> prod-eu:" in result.stdout
    for name in ("prod", "prod-eu"):
        assert load_environment(name, scratch).release.image_digest == NEW_DIGEST
    body = (scratch.parent / "body.md").read_text()
    assert body.startswith("# Promote 1.4.0 (cd34ef56) from staging to prod, prod-eu")
    assert "## prod\n" in body and "## prod-eu\n" in body


def test_promote_to_prod_eu_alone_or_to_its_wave(scratch: Path) -> None:
    set_release(scratch, "staging", NEW_DIGEST)
    prod = (scratch / "prod.yaml").read_bytes()
    alone = promote_wave("staging", "prod-eu", "environment")
    assert alone.to_envs == ("prod-eu",)
    assert (scratch / "prod.yaml").read_bytes() == prod
    assert set(alone.files()) == {"environments/prod-eu.yaml"}

    rest = promote_wave("staging", "prod-eu", "wave", dry_run=True)
    assert rest.to_envs == ("prod",) and rest.already == ("prod-eu",)
    assert (scratch / "prod.yaml").read_bytes() == prod, "a dry run writes nothing"


def test_promotion_within_a_wave_is_refused(scratch: Path) -> None:
    result = run("promote", "--from", "prod", "--to", "prod-eu")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "gitops promote: error: cannot promote prod to prod-eu: both deploy in wave 3;"
        " a release moves from one wave to the next (dev -> staging -> prod, prod-eu)"
    )


def test_release_without_an_environment_goes_to_the_first_wave(scratch: Path) -> None:
    result = run("release", "--image-digest", NEW_DIGEST)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("released to dev: image_digest")
    assert load_environment("dev", scratch).release.image_digest == NEW_DIGEST

    twin = (
        (scratch / "dev.yaml").read_text().replace("region: us-east-1\n", "region: eu-west-1\n", 1)
    )
    (scratch / "dev-eu.yaml").write_text(twin)
    refused = run("release", "--image-digest", "sha256:" + "ab" * 32)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "gitops release: error: the first deploy wave has dev, dev-eu: name the environment"
    )
