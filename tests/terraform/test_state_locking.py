"""How plans and applies treat the state lock, with Terraform's own lock: a real `terraform
console` holds the local state's lock (as any running plan, apply or console does) while a
plan of the same state runs with each `StateLocking`."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gitops.terraform import local_apply, plan_apply
from gitops.terraform.plan_apply import (
    DEPLOY,
    DEPLOY_LOCK_TIMEOUT,
    FAIL_FAST,
    PREVIEW,
    AccessDenied,
    StateLocked,
    StateLocking,
)
from gitops.terraform.runner import TerraformRunner

from tests.terraform.conftest import local_stack

LOCK_INFO = ".terraform.tfstate.lock.info"


@pytest.fixture
def stack(tmp_path: Path) -> tuple[TerraformRunner, Path]:
    """A `terraform_data` applied into local state, and a change to it waiting to be planned."""
    runner, directory = local_stack(
        tmp_path / "stack", 'resource "terraform_data" "s" { input = "one" }\n'
    )
    plan_apply.apply(runner, directory, plan_apply.plan(runner, directory).plan_file, echo=False)
    (directory / "main.tf").write_text('resource "terraform_data" "s" { input = "two" }\n')
    return runner, directory


@contextmanager
def lock_held(runner: TerraformRunner, directory: Path) -> Iterator[subprocess.Popen[str]]:
    """Another run holding the state lock until its stdin closes (or the block ends)."""
    holder = subprocess.Popen(
        [str(runner.binary), "console"], cwd=directory, env=dict(runner.environ), text=True,
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (directory / LOCK_INFO).exists():
            assert holder.poll() is None and time.monotonic() < deadline, "console took no lock"
            time.sleep(0.05)
        yield holder
    finally:
        if holder.stdin and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=60)


def test_a_preview_plans_while_another_run_holds_the_lock(stack) -> None:
    runner, directory = stack
    with lock_held(runner, directory) as holder:
        result = plan_apply.plan(runner, directory, locking=PREVIEW)
        assert result.has_changes and result.plan_file.is_file()
        assert holder.poll() is None and (directory / LOCK_INFO).exists(), "the lock is untouched"


def test_the_default_fails_at_once_naming_the_holder(stack) -> None:
    runner, directory = stack
    with lock_held(runner, directory):
        started = time.monotonic()
        with pytest.raises(StateLocked) as refused:
            plan_apply.plan(runner, directory)
    assert time.monotonic() - started < 30
    assert re.fullmatch(
        r"state-locked: stack is being changed by \S+ \(\w+, lock [\w-]+\);"
        r" wait for it to finish, then re-run",
        str(refused.value),
    ), refused.value
    assert not (directory / plan_apply.PLAN_FILE).exists(), "a refused plan leaves no plan"


def test_a_waiting_plan_goes_on_once_the_holder_lets_go(stack) -> None:
    runner, directory = stack
    held = 3.0
    with lock_held(runner, directory) as holder:
        assert holder.stdin is not None
        threading.Timer(held, holder.stdin.close).start()
        started = time.monotonic()
        result = plan_apply.plan(runner, directory, locking=StateLocking(timeout="60s"))
    assert result.has_changes
    assert time.monotonic() - started >= held - 0.5, "the plan cannot have run under the lock"


def test_a_wait_that_runs_out_is_the_same_state_locked_failure(stack) -> None:
    runner, directory = stack
    held = pytest.raises(StateLocked, match=r"^state-locked: stack is being changed by ")
    with lock_held(runner, directory), held:
        plan_apply.plan(runner, directory, locking=StateLocking(timeout="1s"))


def test_the_named_lockings_give_terraform_these_flags() -> None:
    assert FAIL_FAST.flags() == ["-lock-timeout=0s"]
    assert PREVIEW.flags() == ["-lock=false"]
    assert DEPLOY.flags() == [f"-lock-timeout={DEPLOY_LOCK_TIMEOUT}"]
    minutes = re.fullmatch(r"(\d+)m", DEPLOY_LOCK_TIMEOUT)
    assert minutes and 1 <= int(minutes.group(1)) <= 20, "minutes, within the 60-minute job"


def test_contradictory_lockings_are_refused_at_construction(stack) -> None:
    with pytest.raises(ValueError, match=r"StateLocking.timeout '5m' with take=False"):
        StateLocking(take=False, timeout="5m")
    with pytest.raises(ValueError, match=r"StateLocking.timeout 'soon'"):
        StateLocking(timeout="soon")
    runner, directory = stack
    planned = plan_apply.plan(runner, directory)
    with pytest.raises(ValueError, match="apply writes state"):
        plan_apply.apply(runner, directory, planned.plan_file, echo=False, locking=PREVIEW)


LOCK_REFUSED = """
Error: Error acquiring the state lock

Error message: operation error DynamoDB: PutItem, https response error StatusCode: 400,
RequestID: 0QK4, api error AccessDeniedException: User:
arn:aws:sts::111111111111:assumed-role/fraud-gitops-plan-dev/gitops is not authorized to
perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:111111111111:table/locks
"""
"""What Terraform prints when the role may not write the lock table: the heading of a lock
held elsewhere, but no "Lock Info:" and a denial (the wording of AWS's AccessDeniedException)."""


def test_a_role_refused_the_lock_is_access_denied_not_state_locked(stack, tmp_path) -> None:
    """The plan role has no lock-table write now: `gitops apply` with it must say so, not
    send its user to wait for a holder that does not exist."""
    runner, directory = stack
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "plan" ]; then\n'
        f"  cat >&2 <<'EOF'\n{LOCK_REFUSED}EOF\n"
        "  exit 1\n"
        "fi\n"
        f'exec "{runner.binary}" "$@"\n'
    )
    wrapper.chmod(0o755)
    refused = dataclasses.replace(runner, binary=wrapper)
    with pytest.raises(AccessDenied) as denied:
        plan_apply.plan(refused, directory)
    assert str(denied.value) == (
        "access-denied: stack: terraform plan stopped:"
        " arn:aws:sts::111111111111:assumed-role/fraud-gitops-plan-dev/gitops may not"
        " dynamodb:PutItem"
    )


def test_plan_and_apply_fails_at_once_naming_the_holder(stack) -> None:
    """`local up`'s plan and apply read Terraform's JSON diagnostics, not its text: the lock's
    holder is still named, and nothing is applied."""
    runner, directory = stack
    holder = r"^state-locked: stack is being changed by \S+ "
    with lock_held(runner, directory), pytest.raises(StateLocked, match=holder):
        local_apply.plan_and_apply(runner, directory, echo=False)
    assert local_apply.plan_and_apply(runner, directory, echo=False).counts["change"] == 1, (
        "the refused run applied nothing: the change is still there to apply"
    )
