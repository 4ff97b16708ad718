"""How a planned value reads in a review: sensitive values hidden wherever they are copied,
unknown ones named, long ones cut around where they differ.

Terraform marks a whole set sensitive when one value in it is (a WAF rule set holding the
origin-header values), so hiding every marked value whole would hide every change to the other
rules. Inside a collection marked as a whole, what the code writes out as a constant is shown
(it is in the repository for anyone to read) and everything else is hidden."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
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


def shown_value(
    value: Any,
    sensitive: Any,
    unknown: Any = False,
    secrets: frozenset[str] = frozenset(),
    literals: frozenset[str] = frozenset(),
) -> str:
    """A value as the comment shows it: sensitive parts hidden, unknown parts named.

    Terraform marks where a sensitive value was set, not every copy of it (terraform_data's
    `output` repeats its sensitive `input` unmarked), so any value still containing a known
    secret once its marked parts are hidden is hidden whole.
    """
    if unknown is True or (value is None and _contains_true(unknown)):
        return UNKNOWN
    if sensitive is True and not isinstance(value, dict | list):
        return SENSITIVE  # marked itself, null included: nothing of it is shown
    if value is None:
        return "null"
    shown = _redacted(value, sensitive, unknown, literals, inside_marked=False)
    if shown == SENSITIVE:
        return SENSITIVE
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"))
    if any(secret in text for secret in secrets):
        return SENSITIVE
    return text


def _redacted(value: Any, marks: Any, unknown: Any, literals: frozenset[str], *,
              inside_marked: bool, attribute: str = "") -> Any:  # fmt: skip
    """`value` with each unknown part replaced by UNKNOWN and each sensitive part by SENSITIVE.

    A scalar marked itself is hidden. Inside a collection marked as a whole, a scalar is shown
    only when the configuration writes it out as a constant (`literals`), or when it is a
    boolean, null or empty, which can carry no secret; anything computed is hidden. An object
    there is shown key by key only when every key reads as a schema's attribute name
    (`search_string`); a map's keys can be data, even the secret, so such a map is hidden whole.
    """
    if unknown is True:
        return UNKNOWN
    marked = inside_marked or marks is True
    if isinstance(value, dict):
        keys = set(value) | (set(unknown) if isinstance(unknown, dict) else set())
        if marked and not _reads_as_object(keys):
            return SENSITIVE
        return {
            key: _redacted(value.get(key), _part(marks, key), _part(unknown, key), literals,
                           inside_marked=marked, attribute=str(key))
            for key in keys
        }  # fmt: skip
    if isinstance(value, list):
        if isinstance(marks, list) and len(marks) < len(value):
            marked = True  # marks that do not cover the list: hide it all rather than guess
        return [
            _redacted(item, _part(marks, index), _part(unknown, index), literals,
                      inside_marked=marked, attribute=attribute)
            for index, item in enumerate(value)
        ]  # fmt: skip
    if not inside_marked:
        return SENSITIVE if marks is True else value
    return value if _shown_inside_marked(value, attribute, literals) else SENSITIVE


ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""How every provider schema names an attribute or block; map keys (tags, headers) rarely do."""


def _reads_as_object(keys: Iterable[object]) -> bool:
    """Whether a dict inside a marked collection is a schema's object (its keys shown), not a
    map whose keys may be the secret. `_redacted` and `_found_in_json` must agree on it."""
    return all(ATTRIBUTE_NAME.fullmatch(str(key)) for key in keys)


def _shown_inside_marked(value: Any, attribute: str, literals: frozenset[str]) -> bool:
    """Whether a scalar inside a marked collection is shown: a constant the configuration
    writes to this attribute, or a boolean, null or empty value. `_found_in_json` counts
    everything else as computed, so the two rules cannot drift apart."""
    return value in (None, "") or isinstance(value, bool) or literal(attribute, value) in literals


def _part(marks: Any, key: str | int) -> Any:
    """The marks (sensitive or unknown) of one key or index of a marked value."""
    if marks is True:
        return True
    if isinstance(marks, dict) and isinstance(key, str):
        return marks.get(key, False)
    if isinstance(marks, list) and isinstance(key, int) and key < len(marks):
        return marks[key]
    return False


def config_literals(plan: Mapping[str, Any]) -> frozenset[str]:
    """Every scalar the plan's configuration writes out as a constant (`constant_value`), with
    the attribute it is written to, as `literal(attribute, value)` text: what the code says in
    the open, and so never a secret. The attribute keeps a secret from passing as a constant
    that merely has its value elsewhere (a four-digit PIN and a port)."""
    found: set[str] = set()

    def collect(node: Any, attribute: str, constant: bool) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if key == "constant_value":
                    collect(child, attribute, True)
                else:
                    collect(child, key if constant or key not in _EXPRESSION_KEYS else attribute,
                            constant)  # fmt: skip
        elif isinstance(node, list):
            for child in node:
                collect(child, attribute, constant)
        elif constant and node is not None:
            found.add(literal(attribute, node))

    collect(plan.get("configuration") or {}, "", False)
    return frozenset(found)


_EXPRESSION_KEYS = frozenset({"expressions", "references"})


def literal(attribute: str, value: Any) -> str:
    """How `config_literals` records a constant written to `attribute`."""
    return f"{attribute}={json.dumps(value)}"


MAX_VALUE_CHARS = 80


CONTEXT_BEFORE = 36


CONTEXT_AFTER = 16


_MARKERS = frozenset({SENSITIVE, UNKNOWN, "null", "-"})


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def around_difference(before: str, after: str) -> tuple[str, str]:
    """Long values cut to where they differ, so one changed word in a long JSON document (a
    container definition, a policy) is what the reviewer sees, not two identical prefixes.

    When the values differ in more than one window's breadth (two changes far apart, say a
    statement's Sid and, further on, its Resource widened to `*`), the end of the difference
    is shown too, after the start: no change is left in the part cut away at the end.
    """
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
    # Both long: an edit, whose end may lie far from its start. One side short: a value made
    # (or emptied) whole, whose start says what it is.
    edited = min(len(before), len(after)) > MAX_VALUE_CHARS

    def window(text: str) -> str:
        differs_until = len(text) - suffix
        end = min(len(text), differs_until + CONTEXT_AFTER, start + MAX_VALUE_CHARS - 6)
        shown = ("..." if start else "") + text[start:end]
        if edited and end < differs_until:  # the last difference lies beyond the first window
            tail_end = min(len(text), differs_until + CONTEXT_AFTER)
            tail_start = max(end, tail_end - (MAX_VALUE_CHARS - 6))
            shown += "..." + text[tail_start:tail_end]
            end = tail_end
        return shown + ("..." if end < len(text) else "")

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
    literals = config_literals(plan)
    texts: set[str] = set()
    for leaf in leaves:
        if isinstance(leaf, str):
            if len(found := json.dumps(leaf)[1:-1]) >= MIN_SECRET_LENGTH:
                texts.add(found)
        elif isinstance(leaf, dict | list):
            texts |= _as_found_in_json(leaf, literals)
    return frozenset(texts)


def _as_found_in_json(value: Any, literals: frozenset[str]) -> set[str]:
    """How the computed parts of a sensitive collection read inside the compact JSON that
    `shown_value` searches (a newline or quote in a secret is escaped there, not raw): each
    computed string long enough to be a secret on its own, and each collection holding any
    computed value (a PIN of four digits, a number) whole. What the configuration writes out
    as a constant is no secret's copy (a rule's name beside the secret), nor is a boolean."""
    return _found_in_json(value, literals, "")[0]


def _found_in_json(value: Any, literals: frozenset[str], attribute: str) -> tuple[set[str], bool]:
    """`_as_found_in_json`'s texts, and whether `value` holds anything computed."""
    if isinstance(value, dict | list):
        found: set[str] = set()
        computed = isinstance(value, dict) and not _reads_as_object(value)
        children = value.items() if isinstance(value, dict) else ((attribute, v) for v in value)
        for key, child in children:
            texts, child_computed = _found_in_json(child, literals, str(key))
            found |= texts
            computed = computed or child_computed
        whole = json.dumps(value, sort_keys=True, separators=(",", ":"))
        if computed and len(whole) >= CONTAINED_SECRET_LENGTH:
            found.add(whole)
        return found, computed
    if _shown_inside_marked(value, attribute, literals):
        return set(), False
    text = json.dumps(value)[1:-1] if isinstance(value, str) else ""
    return ({text} if len(text) >= CONTAINED_SECRET_LENGTH else set()), True


def _contains_true(marks: Any) -> bool:
    if marks is True:
        return True
    if isinstance(marks, Mapping):
        return any(_contains_true(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_contains_true(v) for v in marks)
    return False


def attribute_changes(
    change: Mapping[str, Any],
    secrets: frozenset[str] = frozenset(),
    literals: frozenset[str] = frozenset(),
) -> tuple[AttributeChange, ...]:
    """Top-level attributes whose planned value differs, values masked where sensitive (see
    `_redacted` for `literals`), each marked when `replace_paths` names it (or a part of it)
    as forcing the replacement."""
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
        if (name != "tags_all" or _default_tags_changed(before, after))
        and (before.get(name) != after.get(name) or _contains_true(_get(after_unknown, name)))
    )
    shown = []
    for name in names:
        old = (
            shown_value(before.get(name), _get(before_sensitive, name), False, secrets, literals)
            if name in before
            else "-"
        )
        new = shown_value(
            after.get(name),
            _get(after_sensitive, name),
            _get(after_unknown, name),
            secrets,
            literals,
        )
        shown.append(AttributeChange(name, *around_difference(old, new), name in forcing))
    return tuple(shown)


def _default_tags_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether an existing resource's `tags_all` changes in a way its `tags` do not explain:
    the provider's default tags (an environment's `tags`) changed, and nothing else says so.
    A new or destroyed resource's `tags_all` is left out: it repeats the environment's tags."""
    if not before or not after:
        return False
    tags = (before.get("tags") or {}, after.get("tags") or {})
    every = (before.get("tags_all") or {}, after.get("tags_all") or {})
    if not all(isinstance(t, dict) for t in (*tags, *every)):
        return before.get("tags_all") != after.get("tags_all")
    return any(
        every[0].get(key) != every[1].get(key)
        and (every[0].get(key), every[1].get(key)) != (tags[0].get(key), tags[1].get(key))
        for key in set(every[0]) | set(every[1])
    )


def _get(marks: Any, name: str) -> Any:
    return marks.get(name, False) if isinstance(marks, dict) else marks
