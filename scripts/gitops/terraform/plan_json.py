"""Reading `terraform show -json` plans: the pure functions behind the PR comment and the
fingerprint. Nothing here runs terraform; everything is tested on real captured plans."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import GitopsError, UsageError

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
SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"


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


def check_plan(plan: Any, path: Path) -> dict[str, Any]:
    """`plan` if it has the shape of `terraform show -json` output, or one line naming `path`."""
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise UsageError(f"{path}: not a `terraform show -json` plan (no format_version)")
    return plan


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
class AttributeChange:
    name: str
    before: str
    after: str
    forces_replacement: bool = False
    """Named in the change's `replace_paths`: this attribute is why the resource is replaced."""


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

    @property
    def notes(self) -> tuple[str, ...]:
        """What Terraform says beside the address: the reason, the move, the import."""
        said = []
        if self.action == "forget":
            said.append(FORGET_WORDS)
        elif self.reason and self.action in ("destroy", "replace"):
            said.append(self.reason)
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


def _masked(
    value: Any, sensitive: Any, unknown: Any = False, secrets: frozenset[str] = frozenset()
) -> str:
    """A value as the comment shows it: sensitive ones hidden, unknown ones named.

    Terraform marks where a sensitive value was set, not every copy of it (terraform_data's
    `output` repeats its sensitive `input` unmarked), so any value containing a known secret
    is hidden too.
    """
    if unknown is True or (value is None and _contains_true(unknown)):
        return UNKNOWN
    if _contains_true(sensitive):
        return SENSITIVE
    if value is None:
        return "null"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if any(secret in text for secret in secrets):
        return SENSITIVE
    return text


MAX_VALUE_CHARS = 80
CONTEXT_BEFORE = 36
CONTEXT_AFTER = 16
_MARKERS = frozenset({SENSITIVE, UNKNOWN, "null", "-"})


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def around_difference(before: str, after: str) -> tuple[str, str]:
    """Long values cut to where they differ, so one changed word in a long JSON document (a
    container definition, a policy) is what the reviewer sees, not two identical prefixes."""
    if len(before) <= MAX_VALUE_CHARS and len(after) <= MAX_VALUE_CHARS:
        return before, after
    if before in _MARKERS or after in _MARKERS or before == after:
        return _shorten(before), _shorten(after)
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    room = min(len(before), len(after)) - prefix
    while suffix < room and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    start = max(0, prefix - CONTEXT_BEFORE)

    def window(text: str) -> str:
        end = min(len(text), len(text) - suffix + CONTEXT_AFTER, start + MAX_VALUE_CHARS - 6)
        return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")

    return window(before), window(after)


MIN_SECRET_LENGTH = 4
"""Shorter sensitive values (`true`, `1`) would hide half the plan and reveal little."""


def _marked_leaves(value: Any, marks: Any) -> list[Any]:
    if marks is True:
        return [value]
    if isinstance(marks, dict) and isinstance(value, dict):
        return [leaf for k, m in marks.items() for leaf in _marked_leaves(value.get(k), m)]
    if isinstance(marks, list) and isinstance(value, list):
        return [leaf for v, m in zip(value, marks, strict=False) for leaf in _marked_leaves(v, m)]
    return []


def sensitive_values(plan: Mapping[str, Any]) -> frozenset[str]:
    """Every value the plan marks sensitive anywhere (resources, outputs, variables)."""
    leaves: list[Any] = []
    for entry in plan.get("resource_changes", []):
        change = entry["change"]
        leaves += _marked_leaves(change.get("before"), change.get("before_sensitive"))
        leaves += _marked_leaves(change.get("after"), change.get("after_sensitive"))
    for body in (plan.get("output_changes") or {}).values():
        leaves += _marked_leaves(body.get("before"), body.get("before_sensitive"))
        leaves += _marked_leaves(body.get("after"), body.get("after_sensitive"))
    declared = plan.get("configuration", {}).get("root_module", {}).get("variables", {})
    for name, variable in (plan.get("variables") or {}).items():
        if declared.get(name, {}).get("sensitive"):
            leaves.append(variable.get("value"))
    texts: set[str] = set()
    for leaf in leaves:
        texts |= _as_found_in_json(leaf)
    return frozenset(text for text in texts if len(text) >= MIN_SECRET_LENGTH)


def _as_found_in_json(value: Any) -> set[str]:
    """How a sensitive value (and every string inside it) reads inside the compact JSON that
    `_masked` searches: a newline or quote in a secret is escaped there, not raw."""
    if value is None:
        return set()
    if isinstance(value, str):
        return {json.dumps(value)[1:-1]}
    found = {json.dumps(value, sort_keys=True, separators=(",", ":"))}
    children = list(value.values()) if isinstance(value, dict) else value
    for child in children if isinstance(children, list) else ():
        found |= _as_found_in_json(child)
    return found


def _contains_true(marks: Any) -> bool:
    if marks is True:
        return True
    if isinstance(marks, Mapping):
        return any(_contains_true(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_contains_true(v) for v in marks)
    return False


def attribute_changes(
    change: Mapping[str, Any], secrets: frozenset[str] = frozenset()
) -> tuple[AttributeChange, ...]:
    """Top-level attributes whose planned value differs, values masked where sensitive, each
    marked when `replace_paths` names it (or a part of it) as forcing the replacement."""
    forcing = {
        path[0]
        for path in change.get("replace_paths") or ()
        if isinstance(path, list) and path and isinstance(path[0], str)
    }
    before = change.get("before") or {}
    after = change.get("after") or {}
    before_sensitive = change.get("before_sensitive") or {}
    after_sensitive = change.get("after_sensitive") or {}
    after_unknown = change.get("after_unknown") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    candidates = set(before) | set(after)
    if isinstance(after_unknown, dict):
        candidates |= set(after_unknown)
    names = sorted(
        name
        for name in candidates
        if name != "tags_all"
        and (before.get(name) != after.get(name) or _contains_true(_get(after_unknown, name)))
    )
    shown = []
    for name in names:
        old = (
            _masked(before.get(name), _get(before_sensitive, name), secrets=secrets)
            if name in before
            else "-"
        )
        new = _masked(
            after.get(name), _get(after_sensitive, name), _get(after_unknown, name), secrets
        )
        shown.append(AttributeChange(name, *around_difference(old, new), name in forcing))
    return tuple(shown)


def _get(marks: Any, name: str) -> Any:
    return marks.get(name, False) if isinstance(marks, dict) else marks


def _resource_change(
    entry: Mapping[str, Any], secrets: frozenset[str], *, drift: bool = False
) -> ResourceChange | None:
    """One entry of `resource_changes` (or `resource_drift`) as the comment reads it, or None
    when it changes nothing: no action, not imported, not moved."""
    change = entry["change"]
    action = action_of(change["actions"])
    importing = change.get("importing")
    import_id = None if importing is None else str(importing.get("id") or "")
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
        attribute_changes(change, secrets),
        previous_address=previous,
        import_id=import_id,
        reason=REASONS.get(reason, reason) if reason else None,
    )


def _ordered(found: list[ResourceChange | None]) -> list[ResourceChange]:
    order = {action: index for index, action in enumerate(ACTION_ORDER)}
    kept = [change for change in found if change is not None]
    return sorted(kept, key=lambda c: (order.get(c.action, len(order)), c.address))


def resource_changes(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Every resource the plan would touch, imports and moves included (no-ops and reads left
    out), ordered for reading."""
    secrets = sensitive_values(plan)
    return _ordered([_resource_change(e, secrets) for e in plan.get("resource_changes") or ()])


def resource_drift(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Objects Terraform found changed or deleted outside of it when it refreshed."""
    secrets = sensitive_values(plan)
    entries = plan.get("resource_drift") or ()
    return _ordered([_resource_change(e, secrets, drift=True) for e in entries])


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


def fingerprint(plan: Mapping[str, Any]) -> str:
    """A digest of what the plan would do, and nothing else.

    Covers every changed resource (address, actions, before, after, unknown-after-apply marks,
    and where present the import, the previous address, the replace paths and the reason),
    imports and moves that change nothing else, every changed output, the deferred changes,
    every check's status, and the addresses and actions of objects changed outside Terraform
    (not their values: a provider that reports churn on every refresh would make no two plans
    match). Serialized canonically: key order, timestamps, Terraform's version and unchanged
    resources do not move it; any planned value does. Sensitive values are inside the digest
    but never readable from it. An errored or incomplete plan has none: `UnusablePlan` says why.
    """
    problem = plan_problem(plan)
    if problem:
        raise UnusablePlan(f"no fingerprint: {problem}")
    resources = sorted(
        (
            {
                "address": entry["address"],
                "actions": entry["change"]["actions"],
                "before": entry["change"].get("before"),
                "after": entry["change"].get("after"),
                "after_unknown": entry["change"].get("after_unknown"),
                **_present(entry["change"], "importing", "replace_paths"),
                **_present(entry, "previous_address", "action_reason"),
            }
            for entry in plan.get("resource_changes", [])
            if entry["change"]["actions"] not in (["no-op"], ["read"])
            or entry["change"].get("importing") is not None
            or entry.get("previous_address")
        ),
        key=lambda r: r["address"],
    )
    outputs = {
        name: {k: body.get(k) for k in ("actions", "before", "after", "after_unknown")}
        for name, body in (plan.get("output_changes") or {}).items()
        if body["actions"] != ["no-op"]
    }
    document: dict[str, Any] = {"resources": resources, "outputs": outputs}
    extras = {
        "drift": sorted(
            [entry["address"], entry["change"]["actions"]]
            for entry in plan.get("resource_drift") or ()
        ),
        "checks": sorted(
            [(check.get("address") or {}).get("to_display", ""), check.get("status", "")]
            for check in plan.get("checks") or ()
        ),
        "deferred": sorted(
            json.dumps(deferred, sort_keys=True) for deferred in plan.get("deferred_changes") or ()
        ),
    }
    # Only when present, so the digest of a plan without them is what it always was.
    document |= {key: value for key, value in extras.items() if value}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _present(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: mapping[key] for key in keys if mapping.get(key) is not None}


def fingerprint_file(path: Path) -> str:
    """The fingerprint of a plan JSON file, or one line naming the file and why there is none."""
    try:
        return fingerprint(load_plan(path))
    except UnusablePlan as error:
        raise UnusablePlan(f"{path}: {error}") from None
