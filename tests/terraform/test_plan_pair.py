"""plan.tfplan and plan.json are one pair: a plan that fails part-way leaves neither.

The fault is real: a `terraform` wrapper that fails at one subcommand, around the real binary
and a real `terraform_data` configuration with local state.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.terraform import plan_apply
from gitops.terraform.plan_fingerprint import fingerprint
from gitops.terraform.plan_json import load_plan
from gitops.terraform.runner import TerraformRunner

from tests.faults import FAULT_MESSAGE, terraform_failing_at, terraform_printing_garbage_at
from tests.terraform.conftest import local_stack

CODE = 'resource "terraform_data" "service" {{ input = "{value}" }}\n'


@pytest.fixture
def stack(tmp_path: Path) -> tuple[TerraformRunner, Path]:
    return local_stack(tmp_path / "stack", CODE.format(value="one"))


def shown(runner: TerraformRunner, directory: Path) -> dict:
    result = runner.run(["show", "-json", plan_apply.PLAN_FILE], directory)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("subcommand", ["plan", "show"])
def test_a_plan_failing_part_way_leaves_neither_file(stack, tmp_path, subcommand) -> None:
    runner, directory = stack
    first = plan_apply.plan(runner, directory)
    assert first.plan_file.is_file() and first.json_file.is_file()
    (directory / "main.tf").write_text(CODE.format(value="two"))
    faulty = dataclasses.replace(runner, binary=terraform_failing_at(tmp_path / "bin", subcommand))
    with pytest.raises(GitopsError, match=f"terraform {subcommand} failed: {FAULT_MESSAGE}"):
        plan_apply.plan(faulty, directory)
    left = sorted(p.name for p in directory.iterdir() if p.name.startswith("plan"))
    assert left == [], "a failed plan must not leave the previous plan looking current"


def test_a_show_that_prints_no_json_is_one_line_and_leaves_neither_file(stack, tmp_path) -> None:
    runner, directory = stack
    faulty = dataclasses.replace(
        runner, binary=terraform_printing_garbage_at(tmp_path / "bin", "show")
    )
    with pytest.raises(GitopsError) as failed:
        plan_apply.plan(faulty, directory)
    message = str(failed.value)
    assert message.startswith("stack: terraform show printed no JSON (")
    assert "\n" not in message and "re-run" in message
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith("plan")) == []


def test_the_fingerprint_describes_the_plan_file_beside_it(stack) -> None:
    runner, directory = stack
    plan_apply.plan(runner, directory)
    (directory / "main.tf").write_text(CODE.format(value="two"))
    second = plan_apply.plan(runner, directory)
    assert fingerprint(load_plan(second.json_file)) == fingerprint(shown(runner, directory))
    assert second.counts["add"] == 1


def test_apply_of_a_pair_whose_plan_failed_applies_nothing(stack, tmp_path) -> None:
    runner, directory = stack
    plan_apply.plan(runner, directory)
    faulty = dataclasses.replace(runner, binary=terraform_failing_at(tmp_path / "bin", "show"))
    with pytest.raises(GitopsError):
        plan_apply.plan(faulty, directory)
    with pytest.raises(GitopsError, match="terraform apply failed"):
        plan_apply.apply(runner, directory, directory / plan_apply.PLAN_FILE, echo=False)
    assert not (directory / "terraform.tfstate").exists(), "nothing may have been applied"
