"""`gitops check` end to end with real checkov on the real synthesized stacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from infra.environments import environment_names

ENVIRONMENTS = environment_names()

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))


def gitops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS, *args], capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )


def test_every_environment_passes_the_gate(synth_outdir: Path, tmp_path: Path) -> None:
    result = gitops("check", "--outdir", str(synth_outdir), "--report-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for env in ENVIRONMENTS:
        assert f"{env}: " in result.stdout and " 0 failed" in result.stdout
    sarif = json.loads((tmp_path / "policy.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert results and all(r.get("suppressions") for r in results), "only suppressed findings"
    suites = ElementTree.parse(tmp_path / "policy-junit.xml").getroot()
    assert {s.get("name") for s in suites} == {f"policy.{env}" for env in ENVIRONMENTS}
    assert all(s.get("failures") == "0" and int(s.get("tests")) > 200 for s in suites)
    summary = (tmp_path / "policy-summary.txt").read_text()
    assert summary.count("\n") == 1 and " 0 failed, " in summary
    assert summary.rstrip().endswith(
        "over 4 stack(s); PCI DSS: 17/17 requirements covered, 17 passing"
    )


def test_an_injected_violation_fails_and_names_the_check(
    synth_outdir: Path, tmp_path: Path
) -> None:
    stack_dir = tmp_path / "fraud-detection-dev"
    shutil.copytree(synth_outdir / "stacks" / "fraud-detection-dev", stack_dir)
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    alb = next(iter(stack["resource"]["aws_lb"].values()))
    alb["drop_invalid_header_fields"] = False
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack, indent=2))

    clean = synth_outdir / "stacks" / "fraud-detection-staging"
    result = gitops("check", "--stack-dir", str(stack_dir), "--stack-dir", str(clean),
                    "--report-dir", str(tmp_path / "r"))  # fmt: skip
    assert result.returncode == 1
    assert "dev: " in result.stdout and " 1 failed" in result.stdout
    assert (
        "staging: " in result.stdout
        and "over 2 stack(s)" in (tmp_path / "r" / "policy-summary.txt").read_text()
    )
    assert "FAILED CKV_AWS_131" in result.stdout and "(load-balancer/alb)" in result.stdout
    assert result.stderr.strip() == (
        "gitops check: error: 1 failed check(s); fix them or add a reviewed skip"
    )
    sarif = json.loads((tmp_path / "r" / "policy.sarif").read_text())
    failed = [r for r in sarif["runs"][0]["results"] if not r.get("suppressions")]
    assert [r["ruleId"] for r in failed] == ["CKV_AWS_131"]


def test_stack_dir_without_a_stack(tmp_path: Path) -> None:
    result = gitops("check", "--stack-dir", str(tmp_path))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"gitops check: error: {tmp_path}: no cdk.tf.json in this folder"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"resource": ', "not JSON: "),
        (b"", "not JSON: "),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "no object of resources"),
        (b'{"resource": [1]}', "no object of resources"),
    ],
)
def test_a_corrupt_stack_is_one_line_before_checkov_runs(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "cdk.tf.json").write_bytes(content)
    result = gitops("check", "--stack-dir", str(tmp_path), "--report-dir", str(tmp_path / "r"))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"gitops check: error: {tmp_path / 'cdk.tf.json'}: not a synthesized")
    assert problem in line
    assert not (tmp_path / "r").exists(), "no report of a gate that never ran"
