"""The plan fingerprint: one digest of everything a plan would do, which the reviewed plan
comment records and the deploy gate compares before it applies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops.terraform.plan_json import UnusablePlan, load_plan, plan_problem


def fingerprint(plan: Mapping[str, Any]) -> str:
    """A digest of what the plan would do, and nothing else.

    Covers every changed resource (address, actions, before, after, unknown-after-apply marks,
    and where present the import, the previous address, the replace paths, the reason and the
    deposed key), imports and moves that change nothing else, every changed output, the
    deferred changes, every check's status, and the addresses and actions of objects changed
    outside Terraform (not their values: a provider that reports churn on every refresh would
    make no two plans match). Serialized canonically: key order, timestamps, Terraform's
    version and unchanged resources do not move it; any planned value does. Sensitive values
    are inside the digest but never readable from it. An errored or incomplete plan has none:
    `UnusablePlan` says why.
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
                **_present(entry, "previous_address", "action_reason", "deposed"),
            }
            for entry in plan.get("resource_changes", [])
            if entry["change"]["actions"] not in (["no-op"], ["read"])
            or entry["change"].get("importing") is not None
            or entry.get("previous_address")
        ),
        key=lambda r: (r["address"], r.get("deposed", "")),
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
