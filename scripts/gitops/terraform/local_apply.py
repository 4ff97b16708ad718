"""Plan and apply the emulator's stack for `gitops local up`, where nobody reviews a plan.

The pipeline plans, shows and applies a reviewed plan file (`gitops.terraform.plan_apply`);
`local up` needs no JSON and no kept plan, and a re-run usually has nothing to change.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops.terraform.plan_apply import FAIL_FAST, PLAN_FILE, PLAN_JSON, failure
from gitops.terraform.runner import TerraformRunner

UI_ECHOED = frozenset(
    {"apply_start", "apply_progress", "apply_complete", "apply_errored", "diagnostic"}
)
"""Machine-readable UI messages `plan_and_apply` prints: progress and problems, not the diff."""
UI_COUNT_WORDS = {"add": "add", "change": "change", "remove": "destroy", "import": "import"}
"""Terraform's `change_summary` keys, in the words of its `Plan:` line."""
LOCAL_PLAN_FILE = "local-up.tfplan"
"""`plan_and_apply`'s plan between its two Terraform runs; removed when it returns."""


@dataclass(frozen=True)
class LocalApply:
    """What `plan_and_apply` did."""

    counts: Mapping[str, int]
    """The plan's resources by Terraform's words: import, add, change, destroy."""
    applied: bool
    """Whether it applied anything: resources, or outputs only (all counts zero)."""


def plan_and_apply(runner: TerraformRunner, stack_dir: Path, *, echo: bool = True) -> LocalApply:
    """Plan, then apply that plan file only if it changes something (resources or outputs).

    For the emulator's `local up`, where nobody reviews a plan (the pipeline applies a reviewed
    plan with `plan` and `apply`), so no `show -json`. A re-run with nothing to change, the
    usual case, ends after the plan: Terraform's apply of an empty plan walks every resource
    once more (paired runs of a no-op `local up`: 30.2 s with it, 28.0 s without). What that
    gives up, knowingly: a deploy starts Terraform twice (checksum and schema load again); the
    state lock is released between the two, so a run slipping in makes the apply fail as
    `state-locked` or on Terraform's stale-plan check, never apply twice; drift that needs no
    action is no longer written to the state by a no-op; and planning flags come from
    `TF_CLI_ARGS_plan`, not `TF_CLI_ARGS_apply`. A saved plan pair beside the stack is
    removed before an apply: once it has run, that pair describes a state that is gone.
    """
    saved = stack_dir / LOCAL_PLAN_FILE
    saved.unlink(missing_ok=True)
    plan_command = [str(runner.binary), "plan", "-input=false", "-json", "-detailed-exitcode",
                    *FAIL_FAST.flags(), f"-out={saved.name}"]  # fmt: skip
    try:
        planned, has_changes = _run_json(plan_command, runner, stack_dir, "plan", echo)
        if has_changes:
            for stale in (stack_dir / PLAN_FILE, stack_dir / PLAN_JSON):
                stale.unlink(missing_ok=True)
            apply_command = [str(runner.binary), "apply", "-input=false", "-json",
                             *FAIL_FAST.flags(), saved.name]  # fmt: skip
            _run_json(apply_command, runner, stack_dir, "apply", echo)
    finally:
        saved.unlink(missing_ok=True)
    return LocalApply(planned, has_changes)


def _run_json(
    command: list[str], runner: TerraformRunner, stack_dir: Path, action: str, echo: bool
) -> tuple[dict[str, int], bool]:
    """Run a `-json` plan or apply, printing its progress and problems when `echo`; the plan's
    counts (empty for an apply) and whether `-detailed-exitcode` said it changes something.
    Interrupted (Ctrl-C), it stops Terraform before returning, so no caller cleans up beside
    a Terraform still writing."""
    process = subprocess.Popen(
        command, cwd=stack_dir, env=dict(runner.environ), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    planned: dict[str, int] = {}
    problems: list[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                message = {"type": "diagnostic", "@message": line.rstrip(), "@level": "error"}
            kind, text = message.get("type"), str(message.get("@message", "")).strip()
            if kind == "diagnostic":
                detail = str(message.get("diagnostic", {}).get("detail", "")).strip()
                if message.get("@level") == "error":
                    problems.append(f"{text}\n{detail}" if detail else text)
                elif detail:  # a warning's summary alone ("Deprecated Parameter") says nothing
                    text = f"{text}: {detail.splitlines()[0]}"
            shown = kind in UI_ECHOED
            if kind == "change_summary":
                changes = message.get("changes", {})
                if changes.get("operation") == "plan":
                    planned = {word: changes.get(key, 0) for key, word in UI_COUNT_WORDS.items()}
                shown = changes.get("operation") == "apply"  # "Apply complete!"; a plan is quiet
            if echo and shown and text:
                print(f"  {text}", flush=True)
        code = process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()
    succeeded = (0, 2) if action == "plan" else (0,)  # plan's -detailed-exitcode: 2, changes
    if code not in succeeded:
        raise failure(stack_dir.name, action, "\n".join(problems) or "no output")
    return planned, code == 2
