"""Plan and apply one synthesized stack with its remote S3 backend.

`plan` writes `plan.tfplan` and its JSON (`terraform show -json`) beside the stack; `apply`
applies exactly that plan file. Failures have names: `state-locked` when another run holds
the DynamoDB lock (with who holds it), otherwise the first error Terraform printed.
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

from gitops.errors import GitopsError
from gitops.plan_json import action_of, describe_counts
from gitops.terraform import TerraformRunner, last_error_line

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
LOCK_ERROR = "Error acquiring the state lock"


class StateLocked(GitopsError):
    """Another run holds the environment's state lock."""


@dataclass(frozen=True)
class PlanResult:
    plan_file: Path
    json_file: Path
    has_changes: bool
    counts: Mapping[str, int]
    """Resources by action: add, change, replace, destroy."""

    def summary(self) -> str:
        if not self.has_changes:
            return "no changes"
        return describe_counts(self.counts, "output changes only")


def _fail(stack: str, action: str, output: str) -> GitopsError:
    if LOCK_ERROR in output:
        who = re.search(r"Who:\s+(.+)", output)
        lock_id = re.search(r"ID:\s+(\S+)", output)
        holder = who.group(1).strip() if who else "another run"
        return StateLocked(
            f"state-locked: {stack} is being changed by {holder}"
            f" (lock {lock_id.group(1) if lock_id else '?'}); wait for it to finish, then re-run"
        )
    return GitopsError(f"{stack}: terraform {action} failed: {last_error_line(output)}")


INIT_STAMP = ".terraform/gitops-init.sha256"
"""Digest of what `init` read (backend, providers, modules) at the last successful init."""


def _init_inputs_digest(runner: TerraformRunner, stack_dir: Path) -> str:
    synthesized = json.loads((stack_dir / "cdk.tf.json").read_text())
    inputs = {
        "terraform": synthesized.get("terraform"),
        "module": synthesized.get("module"),
        "binary": str(runner.binary),
        "cli_config": runner.environ.get("TF_CLI_CONFIG_FILE", ""),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _still_initialized(stack_dir: Path, digest: str) -> bool:
    stamp = stack_dir / INIT_STAMP
    return (
        stamp.is_file()
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
        raise _fail(stack_dir.name, "init", result.stdout + result.stderr)
    (stack_dir / INIT_STAMP).write_text(digest + "\n")
    return True


def count_actions(plan: Mapping) -> dict[str, int]:
    counts = {"add": 0, "change": 0, "replace": 0, "destroy": 0}
    for change in plan.get("resource_changes", []):
        action = action_of(change["change"]["actions"])
        if action in counts:
            counts[action] += 1
    return counts


def plan(
    runner: TerraformRunner, stack_dir: Path, *, destroy: bool = False, show_unchanged: bool = True
) -> PlanResult:
    """`terraform plan -out` and `show -json`; both files are written whole or not at all.

    With `show_unchanged=False` a plan without changes skips `show` (one provider start and
    hash less) and leaves no JSON: a stale one from an earlier plan is removed.
    """
    plan_file, json_file = stack_dir / PLAN_FILE, stack_dir / PLAN_JSON
    partial = stack_dir / f"{PLAN_FILE}.partial"
    args = ["plan", "-input=false", "-no-color", "-lock-timeout=0s", "-detailed-exitcode",
            f"-out={partial.name}"] + (["-destroy"] if destroy else [])  # fmt: skip
    result = runner.run(args, stack_dir)
    if result.returncode not in (0, 2):
        partial.unlink(missing_ok=True)
        raise _fail(stack_dir.name, "plan", result.stdout + result.stderr)
    if result.returncode == 0 and not show_unchanged:
        json_file.unlink(missing_ok=True)
        os.replace(partial, plan_file)
        return PlanResult(plan_file, json_file, False, count_actions({}))
    shown = runner.run(["show", "-json", "-no-color", partial.name], stack_dir)
    if shown.returncode != 0:
        partial.unlink(missing_ok=True)
        raise _fail(stack_dir.name, "show", shown.stdout + shown.stderr)
    temporary = json_file.with_suffix(".json.tmp")
    temporary.write_text(shown.stdout)
    os.replace(partial, plan_file)
    os.replace(temporary, json_file)
    return PlanResult(
        plan_file, json_file, result.returncode == 2, count_actions(json.loads(shown.stdout))
    )


def apply(runner: TerraformRunner, stack_dir: Path, plan_file: Path, *, echo: bool = True) -> None:
    """Apply exactly `plan_file`, streaming Terraform's progress lines when `echo`."""
    command = [str(runner.binary), "apply", "-input=false", "-no-color", "-lock-timeout=0s",
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


def _stream(command: list[str], runner: TerraformRunner, stack_dir: Path, action: str, echo: bool):
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
        raise _fail(stack_dir.name, action, "".join(output))


def outputs(runner: TerraformRunner, stack_dir: Path) -> dict[str, object]:
    """The stack's outputs; sensitive ones as `(sensitive)`, since callers print them."""
    result = runner.run(["output", "-json", "-no-color"], stack_dir)
    if result.returncode != 0:
        raise _fail(stack_dir.name, "output", result.stdout + result.stderr)
    return {
        name: "(sensitive)" if body.get("sensitive") else body["value"]
        for name, body in json.loads(result.stdout).items()
    }
