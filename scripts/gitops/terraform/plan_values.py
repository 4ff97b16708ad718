"""How a planned value reads in a review: sensitive values hidden wherever they are copied,
unknown ones named, long ones cut around their first difference."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SENSITIVE = "(sensitive)"


UNKNOWN = "(known after apply)"


@dataclass(frozen=True)
class AttributeChange:
    name: str
    before: str
    after: str
    forces_replacement: bool = False
    """Named in the change's `replace_paths`: this attribute is why the resource is replaced."""


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
"""A string marked sensitive itself: shorter ones would hide half the plan and reveal little."""
CONTAINED_SECRET_LENGTH = 8
"""A string inside a block or collection that is marked sensitive as a whole. Terraform marks a
whole WAF rule set sensitive when one search string in it is; its words (`true`, `NONE`,
`EXACTLY`) are configuration, and counting them as secrets masked every value that holds
them, a task definition's log level included."""


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
        if isinstance(leaf, str):
            if len(found := json.dumps(leaf)[1:-1]) >= MIN_SECRET_LENGTH:
                texts.add(found)
        elif isinstance(leaf, dict | list):
            texts |= {t for t in _as_found_in_json(leaf) if len(t) >= CONTAINED_SECRET_LENGTH}
    return frozenset(texts)


def _as_found_in_json(value: Any) -> set[str]:
    """How a sensitive value (and every string inside it) reads inside the compact JSON that
    `_masked` searches: a newline or quote in a secret is escaped there, not raw. Numbers and
    booleans inside it are no secret's copy: only strings and the collections holding them."""
    if isinstance(value, str):
        return {json.dumps(value)[1:-1]}
    if not isinstance(value, dict | list):
        return set()
    found = {json.dumps(value, sort_keys=True, separators=(",", ":"))}
    children = list(value.values()) if isinstance(value, dict) else value
    for child in children:
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
