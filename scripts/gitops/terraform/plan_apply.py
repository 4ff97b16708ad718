"""Plan and apply one synthesized stack with its remote S3 backend.

`plan` writes `plan.tfplan` and its JSON (`terraform show -json`) beside the stack; `apply`
applies exactly that plan file (the emulator's `local up`, which nobody reviews, plans and
applies with `gitops.terraform.local_apply`). How a run treats the DynamoDB state lock is a
`StateLocking`: previews take none, the deploy waits a bounded time, everything else fails at
once. Failures have names: `state-locked` when another run holds the lock (with who holds it),
`access-denied` when the role may not do what Terraform asked, otherwise the first error
Terraform printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import GitopsError
from gitops.terraform.plan_json import check_results, counts, describe_counts, resource_changes
from gitops.terraform.runner import TerraformRunner, last_error_line

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
LOCK_ERROR = "Error acquiring the state lock"


class StateLocked(GitopsError):
    """Another run holds the environment's state lock."""


class AccessDenied(GitopsError):
    """The credentials' role may not do what the plan needs (the pipeline roles' least privilege
    at work: a plan role applying, or an action missing from the apply role)."""


DENIED = re.compile(
    r"(?:User|Identity):\s+(\S+)\s+is\s+not\s+authorized\s+to\s+perform:\s+([\w-]+:\w+)"
)
"""AWS's denial, across the line breaks of Terraform's diagnostics (wrapped at 78 columns when
not on a terminal; an ARN is never split)."""


DEPLOY_LOCK_TIMEOUT = "10m"
"""How long the deploy's plan and apply wait for a state lock another run holds, then fail as
`state-locked`. Previews take no lock and deploys of one environment queue in its concurrency
group, so the holder is a run GitHub no longer counts (a cancelled attempt whose Terraform is
still finishing) or an apply by hand: minutes are enough for either. A lock left by
a killed run never goes away, so the wait is bounded; both waits fit the 60-minute deploy job."""


@dataclass(frozen=True)
class StateLocking:
    """How one terraform run treats the environment's state lock (the backend's DynamoDB item).

    The default takes the lock and fails at once when another run holds it.
    """

    take: bool = True
    """False: `-lock=false`, for a preview that never writes state: it neither waits for nor
    blocks a deploy, and its role needs no write to the lock table."""
    timeout: str = "0s"
    """How long to wait for another run's lock (Terraform's duration, e.g. `0s`, `10m`)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d+[smh]", self.timeout):
            raise ValueError(
                f"StateLocking.timeout {self.timeout!r}: give Terraform a duration like 0s or 10m"
            )
        if not self.take and self.timeout != "0s":
            raise ValueError(
                f"StateLocking.timeout {self.timeout!r} with take=False: a run that takes no"
                " lock waits for none; leave timeout at 0s"
            )

    def flags(self) -> list[str]:
        return [f"-lock-timeout={self.timeout}"] if self.take else ["-lock=false"]


FAIL_FAST = StateLocking()
"""Take the lock, fail at once when it is held: runs by hand and in the emulator."""
PREVIEW = StateLocking(take=False)
"""No lock: pull-request and drift plans, which are never applied and never write state."""
DEPLOY = StateLocking(timeout=DEPLOY_LOCK_TIMEOUT)
"""Take the lock, waiting up to DEPLOY_LOCK_TIMEOUT for another run to release it."""


@dataclass(frozen=True)
class PlanResult:
    plan_file: Path
    json_file: Path
    has_changes: bool
    counts: Mapping[str, int]
    """Resources by Terraform's words: import, add, change, destroy, forget, move (and replace)."""

    def summary(self) -> str:
        if not self.has_changes:
            return "no changes"
        return describe_counts(self.counts, "output changes only")


Planned = tuple[TerraformRunner, Path, PlanResult]
"""What planning an environment yields: the runner, the stack folder and the plan."""


def failure(stack: str, action: str, output: str) -> GitopsError:
    """The named error for a failed terraform `action` of `stack`, read from its output."""
    # A role refused the lock table's write fails under the same "Error acquiring the state
    # lock" heading as a lock held elsewhere: the denial is the truth, so it is named first.
    denied = DENIED.search(output)
    if denied:
        caller, permission = denied.group(1).rstrip(".,"), denied.group(2)
        return AccessDenied(
            f"access-denied: {stack}: terraform {action} stopped: {caller} may not {permission}"
        )
    if LOCK_ERROR in output:
        # Terraform's "Lock Info:" block, one field a line; anchored, because the DynamoDB
        # error above it carries a "RequestID:" that is not the lock's ID.
        who = re.search(r"^\s*Who:\s+(.+)$", output, re.M)
        lock_id = re.search(r"^\s*ID:\s+(\S+)$", output, re.M)
        operation = re.search(r"^\s*Operation:\s+OperationType(\w+)$", output, re.M)
        holder = who.group(1).strip() if who else "another run"
        doing = f"{operation.group(1).lower()}, " if operation else ""
        return StateLocked(
            f"state-locked: {stack} is being changed by {holder}"
            f" ({doing}lock {lock_id.group(1) if lock_id else '?'});"
            " wait for it to finish, then re-run"
        )
    return GitopsError(f"{stack}: terraform {action} failed: {last_error_line(output)}")


def _json_of(stack: str, action: str, text: str) -> dict[str, Any]:
    """Terraform's JSON output, or one line saying it was not JSON (never a traceback)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise GitopsError(
            f"{stack}: terraform {action} printed no JSON ({error.msg} at line {error.lineno});"
            " re-run, and report it if it happens again"
        ) from None
    if not isinstance(document, dict):
        raise GitopsError(f"{stack}: terraform {action} printed JSON that is not an object; re-run")
    return document


INIT_STAMP = ".terraform/gitops-init.sha256"
"""Digest of what `init` read (backend, providers, modules) at the last successful init."""


def _init_inputs_digest(runner: TerraformRunner, stack_dir: Path) -> str | None:
    """What `init` reads of a synthesized stack, as a digest; None for a hand-written one."""
    stack_file = stack_dir / "cdk.tf.json"
    if not stack_file.is_file():
        return None
    synthesized = json.loads(stack_file.read_text())
    inputs = {
        "terraform": synthesized.get("terraform"),
        "module": synthesized.get("module"),
        "binary": str(runner.binary),
        "cli_config": runner.environ.get("TF_CLI_CONFIG_FILE", ""),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _still_initialized(stack_dir: Path, digest: str | None) -> bool:
    stamp = stack_dir / INIT_STAMP
    return (
        digest is not None
        and stamp.is_file()
        and stamp.read_text().strip() == digest
        and (stack_dir / ".terraform.lock.hcl").is_file()
        and (stack_dir / ".terraform" / "terraform.tfstate").is_file()
        and (stack_dir / ".terraform" / "providers").is_dir()
    )


def init(runner: TerraformRunner, stack_dir: Path, *, reuse: bool = False) -> bool:
    """`terraform init`; False when `reuse` and nothing init reads changed since the last one.

    Every terraform command re-hashes the 700 MB provider (about 3 s here), and init does it
    twice: skipping an init whose backend, providers and modules are unchanged saves both.
    """
    digest = _init_inputs_digest(runner, stack_dir)
    if reuse and _still_initialized(stack_dir, digest):
        return False
    (stack_dir / INIT_STAMP).unlink(missing_ok=True)
    result = runner.run(["init", "-input=false", "-reconfigure", "-no-color"], stack_dir)
    if result.returncode != 0:
        raise failure(stack_dir.name, "init", result.stdout + result.stderr)
    if digest is not None:  # a stack with no backend or provider gets no .terraform of its own
        (stack_dir / INIT_STAMP).parent.mkdir(exist_ok=True)
        (stack_dir / INIT_STAMP).write_text(digest + "\n")
    return True


def count_actions(plan: Mapping[str, Any]) -> dict[str, int]:
    """Resources by the words of Terraform's `Plan:` line (import, add, ..., forget, move)."""
    return counts(resource_changes(plan))


def plan(
    runner: TerraformRunner,
    stack_dir: Path,
    *,
    destroy: bool = False,
    locking: StateLocking = FAIL_FAST,
) -> PlanResult:
    """`terraform plan -out` and `show -json`, kept as one pair: both files or neither.

    The previous pair is removed before Terraform runs, so a failed or interrupted plan leaves
    no plan at all rather than an old one that looks current. The JSON moves into place before
    the binary plan: cut off between the two renames, there is a JSON and no plan file to
    apply, never a plan file beside a JSON (and fingerprint) that describes another plan.
    """
    plan_file, json_file = stack_dir / PLAN_FILE, stack_dir / PLAN_JSON
    partial = stack_dir / f"{PLAN_FILE}.partial"
    temporary = json_file.with_suffix(".json.tmp")
    for stale in (json_file, plan_file, partial, temporary):
        stale.unlink(missing_ok=True)
    args = ["plan", "-input=false", "-no-color", *locking.flags(), "-detailed-exitcode",
            f"-out={partial.name}"] + (["-destroy"] if destroy else [])  # fmt: skip
    try:
        result = runner.run(args, stack_dir)
        if result.returncode not in (0, 2):
            failed = _failed_checks(runner, stack_dir, partial)
            error = failure(stack_dir.name, "plan", result.stdout + result.stderr)
            if failed and not isinstance(error, StateLocked):
                error = GitopsError(f"{error} ({failed})")
            raise error
        shown = runner.run(["show", "-json", "-no-color", partial.name], stack_dir)
        if shown.returncode != 0:
            raise failure(stack_dir.name, "show", shown.stdout + shown.stderr)
        action_counts = count_actions(_json_of(stack_dir.name, "show", shown.stdout))
        temporary.write_text(shown.stdout)
        os.replace(temporary, json_file)
        os.replace(partial, plan_file)
    except BaseException:
        for leftover in (json_file, plan_file, partial, temporary):
            leftover.unlink(missing_ok=True)
        raise
    return PlanResult(plan_file, json_file, result.returncode == 2, action_counts)


def _failed_checks(runner: TerraformRunner, stack_dir: Path, partial: Path) -> str:
    """The failed checks' messages of an errored plan, which Terraform saves anyway: its first
    error line says only "Resource precondition failed", the message says which and why."""
    if not partial.is_file():
        return ""
    shown = runner.run(["show", "-json", "-no-color", partial.name], stack_dir)
    try:
        plan = json.loads(shown.stdout) if shown.returncode == 0 else {}
    except json.JSONDecodeError:
        return ""
    return "; ".join(
        f"{check.address}: {' / '.join(check.messages)}"
        for check in check_results(plan)
        if check.status == "fail" and check.messages
    )


def apply(
    runner: TerraformRunner,
    stack_dir: Path,
    plan_file: Path,
    *,
    echo: bool = True,
    locking: StateLocking = FAIL_FAST,
) -> None:
    """Apply exactly `plan_file`, streaming Terraform's progress lines when `echo`. An apply
    writes state, so it always takes the lock (`locking.take` False is refused)."""
    if not locking.take:
        raise ValueError("apply writes state: it must take the lock (locking.take=False)")
    command = [str(runner.binary), "apply", "-input=false", "-no-color", *locking.flags(),
               str(plan_file.resolve())]  # fmt: skip
    _stream(command, runner, stack_dir, "apply", echo)


def destroy(
    runner: TerraformRunner, stack_dir: Path, *, echo: bool = True, refresh: bool = True
) -> None:
    """Destroy everything in state; `refresh=False` trusts the state instead of re-reading
    every resource first (for the emulator, which holds both and nothing else changes)."""
    command = [str(runner.binary), "destroy", "-auto-approve", "-input=false", "-no-color",
               "-lock-timeout=0s"] + ([] if refresh else ["-refresh=false"])  # fmt: skip
    _stream(command, runner, stack_dir, "destroy", echo)


def _stream(
    command: list[str], runner: TerraformRunner, stack_dir: Path, action: str, echo: bool
) -> None:
    process = subprocess.Popen(
        command, cwd=stack_dir, env=dict(runner.environ), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if echo and line.strip():
            sys.stdout.write(f"  {line}" if not line.startswith(" ") else line)
            sys.stdout.flush()
    if process.wait() != 0:
        raise failure(stack_dir.name, action, "".join(output))


def outputs(runner: TerraformRunner, stack_dir: Path) -> dict[str, object]:
    """The stack's outputs; sensitive ones as `(sensitive)`, since callers print them."""
    result = runner.run(["output", "-json", "-no-color"], stack_dir)
    if result.returncode != 0:
        raise failure(stack_dir.name, "output", result.stdout + result.stderr)
    return {
        name: "(sensitive)" if body.get("sensitive") else body["value"]
        for name, body in _json_of(stack_dir.name, "output", result.stdout).items()
    }
