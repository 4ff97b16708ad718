"""Reading `terraform show -json` plans: the pure functions behind the PR comment and the
fingerprint. Nothing here runs terraform; everything is tested on real captured plans."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import GitopsError, UsageError
from gitops.terraform.plan_values import (
    SENSITIVE,
    AttributeChange,
    attribute_changes,
    config_literals,
    sensitive_values,
)

ACTION_ORDER = ("destroy", "replace", "forget", "add", "change", "import", "move")


"""Reading order of a plan's resources; `import` and `move` are those where nothing else changes."""


COUNT_WORDS = ("import", "add", "change", "destroy", "forget", "move")


"""The words of Terraform's own `Plan:` line (it counts a replacement as an add and a destroy)."""


REASONS = {
    "replace_because_tainted": "tainted, so must be replaced",
    "replace_because_cannot_update": "must be replaced",
    "replace_by_request": "replaced, as requested with -replace",
    "replace_by_triggers": "replaced by replace_triggered_by",
    "delete_because_no_resource_config": "no longer in the code",
    "delete_because_no_module": "its module is no longer in the code",
    "delete_because_wrong_repetition": "its count or for_each changed kind",
    "delete_because_count_index": "its count index is out of range",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "moved to an address that does not exist",
}


"""Terraform's `action_reason` as the comment says it (an unknown reason is shown as is)."""


FORGET_WORDS = "stops managing (the object stays in AWS)"


KNOWN_ACTIONS = frozenset({"add", "change", "replace", "destroy", "forget", "no-op", "read"})
"""`action_of`'s words for the action lists Terraform 1.x writes today."""


def read_json(path: Path) -> Any:
    """A JSON file's content, or one line saying why it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: plan JSON not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read ({error})") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not JSON (line {error.lineno}: {error.msg})") from None
    except RecursionError:
        raise UsageError(f"{path}: not JSON this tool reads (nested too deeply)") from None


def check_plan(plan: Any, path: Path) -> dict[str, Any]:
    """`plan` if it has the shape of `terraform show -json` output, or one line naming `path`
    and the first part that is not (a truncated or hand-edited file fails here, not deep in
    the comment or fingerprint code)."""
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise UsageError(f"{path}: not a `terraform show -json` plan (no format_version)")
    problem = _shape_problem(plan)
    if problem:
        raise UsageError(f"{path}: not a `terraform show -json` plan ({problem})")
    return plan


def _shape_problem(plan: Mapping[str, Any]) -> str | None:
    """The first field this code reads that has not the shape Terraform writes, if any."""
    for key in ("resource_changes", "resource_drift", "checks", "deferred_changes"):
        entries = plan.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return f"{key}: not a list of objects"
        if key in ("resource_changes", "resource_drift"):
            for index, entry in enumerate(entries):
                if problem := _change_shape_problem(entry):
                    return f"{key}[{index}]: {problem}"
        if key == "deferred_changes":
            for index, entry in enumerate(entries):
                change = entry.get("resource_change")
                if not isinstance(change, dict) or _change_shape_problem(change):
                    return f"{key}[{index}]: no resource_change"
    for key in ("output_changes", "variables", "configuration"):
        value = plan.get(key)
        if value is not None and not isinstance(value, dict):
            return f"{key}: not an object"
    outputs = plan.get("output_changes") or {}
    for name, body in outputs.items():
        if not isinstance(body, dict) or not isinstance(body.get("actions"), list):
            return f"output_changes.{name}: no actions"
    return None


def _change_shape_problem(entry: Mapping[str, Any]) -> str | None:
    if not isinstance(entry.get("address"), str) or not isinstance(entry.get("type"), str):
        return "no address or type"
    change = entry.get("change")
    if not isinstance(change, dict):
        return "no change"
    actions = change.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        return "change.actions: not a list of words"
    return None


def load_plan(path: Path) -> dict[str, Any]:
    """A plan JSON file, or one line saying why it is not one."""
    return check_plan(read_json(path), path)


def action_of(actions: list[str]) -> str:
    """Terraform's action list as one word: add, change, replace, destroy, forget, read, no-op."""
    if actions == ["create"]:
        return "add"
    if actions == ["update"]:
        return "change"
    if actions == ["delete"]:
        return "destroy"
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return actions[0] if actions else "no-op"


@dataclass(frozen=True)
class ResourceChange:
    address: str
    resource_type: str
    action: str
    """add, change, replace, destroy or forget; `import` or `move` when nothing else changes."""
    attributes: tuple[AttributeChange, ...]
    previous_address: str | None = None
    """Where a `moved` block (or a refactoring) moves it from."""
    import_id: str | None = None
    """The id an `import` block reads it in with; None when it is not imported."""
    reason: str | None = None
    """Why Terraform destroys or replaces it (`action_reason`), in words."""
    deposed: str | None = None
    """The key of a deposed object: one a failed create-before-destroy replacement left
    behind, which this change (a destroy) removes; the live object is another entry."""

    @property
    def notes(self) -> tuple[str, ...]:
        """What Terraform says beside the address: the reason, the move, the import."""
        said = []
        if self.action == "forget":
            said.append(FORGET_WORDS)
        elif self.reason and self.action in ("destroy", "replace"):
            said.append(self.reason)
        if self.deposed:
            said.append(f"deposed object {self.deposed}, left over from a failed replacement")
        if self.previous_address:
            said.append(f"moved from {self.previous_address}")
        if self.import_id is not None:
            said.append(f"import id {json.dumps(self.import_id)}")
        return tuple(said)


@dataclass(frozen=True)
class CheckResult:
    """A `check` block or a pre/postcondition whose result is not a pass."""

    address: str
    kind: str
    status: str
    """fail, error or unknown (known only after apply)."""
    messages: tuple[str, ...]

    @property
    def subject(self) -> str:
        return f"`{self.address}`" if self.kind == "check" else f"a condition on `{self.address}`"


@dataclass(frozen=True)
class DeferredChange:
    """A change Terraform could not plan yet: it is not part of this plan's apply."""

    address: str
    action: str
    reason: str


def _resource_change(
    entry: Mapping[str, Any],
    secrets: frozenset[str],
    literals: frozenset[str],
    *,
    drift: bool = False,
) -> ResourceChange | None:
    """One entry of `resource_changes` (or `resource_drift`) as the comment reads it, or None
    when it changes nothing: no action, not imported, not moved."""
    change = entry["change"]
    action = action_of(change["actions"])
    if action not in KNOWN_ACTIONS:  # a newer Terraform's combination: never shown as another
        raise UsageError(
            f"{entry['address']}: Terraform's actions {change['actions']} are not ones this"
            " comment knows how to show; update gitops before reviewing this plan"
        )
    importing = change.get("importing")
    import_id = None if importing is None else str(importing.get("id") or "")
    if import_id and any(secret in json.dumps(import_id)[1:-1] for secret in secrets):
        import_id = SENSITIVE  # Terraform prints it; a PR comment must not
    previous = entry.get("previous_address")
    if action in ("no-op", "read"):
        if drift or action == "read":
            return None
        if import_id is not None:
            action = "import"
        elif previous:
            action = "move"
        else:
            return None
    reason = entry.get("action_reason")
    return ResourceChange(
        entry["address"],
        entry["type"],
        action,
        attribute_changes(change, secrets, literals),
        previous_address=previous,
        import_id=import_id,
        reason=REASONS.get(reason, reason) if reason else None,
        deposed=entry.get("deposed"),
    )


def _ordered(found: list[ResourceChange | None]) -> list[ResourceChange]:
    order = {action: index for index, action in enumerate(ACTION_ORDER)}
    kept = [change for change in found if change is not None]
    return sorted(kept, key=lambda c: (order.get(c.action, len(order)), c.address, c.deposed or ""))


def resource_changes(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Every resource the plan would touch, imports and moves included (no-ops and reads left
    out), ordered for reading."""
    secrets, literals = sensitive_values(plan), config_literals(plan)
    entries = plan.get("resource_changes") or ()
    return _ordered([_resource_change(e, secrets, literals) for e in entries])


def resource_drift(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Objects Terraform found changed or deleted outside of it when it refreshed."""
    secrets, literals = sensitive_values(plan), config_literals(plan)
    entries = plan.get("resource_drift") or ()
    return _ordered([_resource_change(e, secrets, literals, drift=True) for e in entries])


def check_results(plan: Mapping[str, Any]) -> list[CheckResult]:
    """Checks and conditions that did not pass, with their messages (sensitive ones hidden).

    `terraform show -json` leaves out the plan's diagnostics; the failure messages it keeps are
    `checks[].instances[].problems[].message`.
    """
    secrets = sensitive_values(plan)
    found = []
    for check in plan.get("checks") or ():
        status = check.get("status", "unknown")
        if status == "pass":
            continue
        messages: list[str] = []
        for instance in check.get("instances") or ():
            for problem in instance.get("problems") or ():
                message = str(problem.get("message", ""))
                if any(secret in json.dumps(message) for secret in secrets):
                    message = SENSITIVE
                if message and message not in messages:
                    messages.append(message)
        address = check.get("address") or {}
        display = address.get("to_display") or address.get("name") or "?"
        found.append(CheckResult(display, address.get("kind", ""), status, tuple(messages)))
    return sorted(found, key=lambda c: (c.status != "fail", c.address))


def deferred_changes(plan: Mapping[str, Any]) -> list[DeferredChange]:
    """Changes Terraform deferred to a later plan (`deferred_changes`, where present)."""
    found = []
    for deferred in plan.get("deferred_changes") or ():
        entry = deferred.get("resource_change") or {}
        actions = (entry.get("change") or {}).get("actions") or []
        address = entry.get("address", "?")
        found.append(DeferredChange(address, action_of(actions), deferred.get("reason", "?")))
    return sorted(found, key=lambda d: d.address)


def plan_problem(plan: Mapping[str, Any]) -> str | None:
    """Why the plan cannot be applied as reviewed, or None for a plan that can.

    `applyable` is false for an empty plan too, so it counts only when something would change.
    """
    if plan.get("errored"):
        return "Terraform stopped with errors while planning (errored: true)"
    if plan.get("complete") is False:
        return (
            "the plan is incomplete (complete: false): applying it would leave changes for a"
            " later plan"
        )
    if plan.get("applyable") is False and (resource_changes(plan) or output_changes(plan)):
        return "Terraform marked the plan not applyable (applyable: false)"
    return None


class UnusablePlan(GitopsError):
    """An errored or incomplete plan: it has no fingerprint, so no deploy can accept it."""


def describe_counts(counts_by_action: Mapping[str, int], empty: str) -> str:
    """Terraform's own words: `1 to import, 0 to add, 1 to change, 0 to destroy, 1 to forget`
    (import, forget and move only when there are some), or `empty` when all are none."""
    if not any(counts_by_action.get(word) for word in COUNT_WORDS):
        return empty
    return ", ".join(
        f"{counts_by_action.get(word, 0)} to {word}"
        for word in COUNT_WORDS
        if counts_by_action.get(word) or word in ("add", "change", "destroy")
    )


def counts(changes: list[ResourceChange]) -> dict[str, int]:
    """Resources by Terraform's words; a replacement counts as an add and a destroy, as in
    Terraform's `Plan:` line, and once more under `replace` for those who need it alone."""
    result = dict.fromkeys((*COUNT_WORDS, "replace"), 0)
    for change in changes:
        if change.action == "replace":
            result["add"] += 1
            result["destroy"] += 1
        result[change.action] += 1
        if change.import_id is not None and change.action != "import":
            result["import"] += 1
    return result


def output_changes(plan: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: action_of(body["actions"])
        for name, body in sorted((plan.get("output_changes") or {}).items())
        if action_of(body["actions"]) != "no-op"
    }
