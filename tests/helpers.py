"""Small readers over synthesized Terraform JSON, used by the synth tests."""

from __future__ import annotations

from typing import Any


def resources(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Every resource of one type, by its logical id (empty when there are none)."""
    return stack.get("resource", {}).get(resource_type, {})


def one(stack: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The single resource of a type; fails loudly when there are none or several."""
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))
