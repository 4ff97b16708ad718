"""`plan_and_apply`: plan, and apply only a plan that changes something, as `gitops local up`
deploys.

Real Terraform, a real `terraform_data` configuration with local state; the fault is a real
wrapper around the binary.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.terraform import local_apply, plan_apply
from gitops.terraform.runner import TerraformRunner

from tests.faults import FAULT_MESSAGE, terraform_failing_at
from tests.terraform.conftest import local_stack

CODE = 'resource "terraform_data" "service" {{ input = "{value}" }}\n'


@pytest.fixture
def stack(tmp_path: Path) -> tuple[TerraformRunner, Path]:
    return local_stack(tmp_path / "stack", CODE.format(value="one"))


def test_it_applies_says_what_and_then_has_nothing_to_do(stack, capsys) -> None:
    runner, directory = stack
    done = local_apply.plan_and_apply(runner, directory)
    assert done == local_apply.LocalApply({"add": 1, "change": 0, "destroy": 0, "import": 0}, True)
    printed = capsys.readouterr().out
    assert "terraform_data.service: Creation complete" in printed
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in printed
    assert "Plan:" not in printed, "the plan's diff and counts are the caller's to print"
    assert not (directory / local_apply.LOCAL_PLAN_FILE).exists(), "its plan file is removed"

    again = local_apply.plan_and_apply(runner, directory)
    assert not again.applied and not any(again.counts.values())
    assert "Apply complete" not in capsys.readouterr().out, "a no-op says nothing of an apply"
    assert not (directory / local_apply.LOCAL_PLAN_FILE).exists(), "its plan file is removed"

    (directory / "main.tf").write_text(CODE.format(value="two"))
    assert local_apply.plan_and_apply(runner, directory, echo=False).counts["change"] == 1
    assert capsys.readouterr().out == ""


def test_an_output_only_change_is_applied(stack) -> None:
    """`-detailed-exitcode` says 2 for a new output too: applied, with every count zero."""
    runner, directory = stack
    local_apply.plan_and_apply(runner, directory, echo=False)
    with open(directory / "main.tf", "a") as code:
        code.write('output "greeting" { value = "hello" }\n')
    done = local_apply.plan_and_apply(runner, directory, echo=False)
    assert done.applied and not any(done.counts.values())
    state = json.loads((directory / "terraform.tfstate").read_text())
    assert state["outputs"]["greeting"]["value"] == "hello"


def test_a_saved_plan_the_apply_makes_stale_is_removed_and_a_no_op_keeps_it(stack) -> None:
    runner, directory = stack
    saved = plan_apply.plan(runner, directory)
    assert saved.plan_file.is_file() and saved.json_file.is_file()
    local_apply.plan_and_apply(runner, directory, echo=False)
    assert not saved.plan_file.exists() and not saved.json_file.exists()
    kept = plan_apply.plan(runner, directory)
    assert not local_apply.plan_and_apply(runner, directory, echo=False).applied
    assert kept.plan_file.is_file() and kept.json_file.is_file(), "still the state it describes"


def test_a_no_op_ends_after_the_plan(stack, tmp_path) -> None:
    """Terraform's apply of an empty plan walks every resource again; a no-op never runs it."""
    runner, directory = stack
    local_apply.plan_and_apply(runner, directory, echo=False)
    no_apply = dataclasses.replace(runner, binary=terraform_failing_at(tmp_path / "bin", "apply"))
    assert not local_apply.plan_and_apply(no_apply, directory, echo=False).applied
    assert not (tmp_path / "bin" / "apply.calls").exists(), "the no-op ran terraform apply"


def test_a_warning_is_printed_with_the_first_line_of_its_detail(stack, capsys) -> None:
    runner, directory = stack
    targeted = {**runner.environ, "TF_CLI_ARGS_plan": "-target=terraform_data.service"}
    local_apply.plan_and_apply(dataclasses.replace(runner, environ=targeted), directory)
    printed = capsys.readouterr().out
    assert (
        "  Warning: Resource targeting is in effect: You are creating a plan with the -target"
        " option, which means that the result of this plan may not represent all of the changes"
    ) in printed, printed


def test_a_configuration_error_is_one_line_naming_the_stack(stack) -> None:
    runner, directory = stack
    (directory / "main.tf").write_text(
        'resource "terraform_data" "service" { input = var.missing }\n'
    )
    with pytest.raises(GitopsError) as failed:
        local_apply.plan_and_apply(runner, directory, echo=False)
    message = "stack: terraform plan failed: Reference to undeclared input variable"
    assert str(failed.value) == message


def test_terraform_failing_outside_its_json_is_still_one_line(stack, tmp_path) -> None:
    runner, directory = stack
    faulty = dataclasses.replace(runner, binary=terraform_failing_at(tmp_path / "bin", "apply"))
    with pytest.raises(GitopsError) as failed:
        local_apply.plan_and_apply(faulty, directory, echo=False)
    assert str(failed.value) == f"stack: terraform apply failed: {FAULT_MESSAGE} at terraform apply"
    assert not (directory / local_apply.LOCAL_PLAN_FILE).exists(), "a failed apply leaves no plan"
