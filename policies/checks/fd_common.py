"""Shared helpers of the CKV_FD_* checks; registers no check itself.

checkov hands a resource check one resource's configuration in the terraform_json framework's
shape: every scalar wrapped in a list (`"port": [443]`), lists of scalars wrapped twice
(`"subnets": [["a", "b"]]`), nested blocks as lists of dicts, `tags` as `[{"Key": "value"}]`, and
line markers (`__startline__`) in every dict. `first`, `strings` and `tag_map` undo that.

Some rules need the rest of the stack (the provider's default tags, which security group guards
the database, which bucket policy belongs to a bucket, which WAF association names a load
balancer). checkov 3.3 gives a Python resource check only the scanned file's path relative to the
scanned folder, so `StackAwareCheck` recovers the absolute path from checkov's runner
(`TerraformJsonRunner.run_block`'s `full_file_path`), falling back to the `-d` folders on
checkov's command line, and reads that file's JSON itself. When the stack cannot be read the
check fails with a detail saying so: a rule that could not be verified never passes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from checkov.common.models.enums import CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

LINE_MARKERS = frozenset({"__startline__", "__endline__"})


def first(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """The value of an argument with checkov's list wrapping removed (one level per list)."""
    value = conf.get(key, default)
    while isinstance(value, list) and len(value) == 1 and not isinstance(value[0], dict):
        value = value[0]
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0]
    return value


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The nested blocks of an argument (`ingress`, `default_action`), as a list of dicts."""
    value = conf.get(key) or []
    value = value if isinstance(value, list) else [value]
    flat: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            flat.append(item)
        elif isinstance(item, list):
            flat.extend(i for i in item if isinstance(i, dict))
    return flat


def strings(value: Any) -> Iterator[str]:
    """Every string inside a (possibly nested) list."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
SECURITY_GROUPS = ("aws_security_group", "aws_default_security_group")
SECURITY_GROUP_RULE_TYPES = (
    *SECURITY_GROUPS,
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
)


def direction_rules(
    entity_type: str, conf: dict[str, Any], direction: str
) -> tuple[list[dict[str, Any]], str, list[str]] | None:
    """The `ingress` or `egress` rules a security-group resource declares, the key naming their
    protocol, and the keys a check reads; None for a rule resource of the other direction.

    Inline blocks of a group, a classic `aws_security_group_rule` (its `type` says the
    direction) and the per-direction `aws_vpc_security_group_*_rule` resources all count.
    """
    if entity_type in SECURITY_GROUPS:
        return blocks(conf, direction), "protocol", [direction]
    if entity_type == "aws_security_group_rule":
        if first(conf, "type") != direction:
            return None
        return [conf], "protocol", ["type", "cidr_blocks", "ipv6_cidr_blocks", "from_port"]
    return [conf], "ip_protocol", ["cidr_ipv4", "cidr_ipv6", "ip_protocol", "from_port"]


def open_to_anywhere(rule: dict[str, Any]) -> bool:
    """Whether a security-group rule (inline block or rule resource) names the whole internet."""
    keys = ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6")
    return any(cidr in ANYWHERE for key in keys for cidr in strings(rule.get(key)))


def tag_map(value: Any) -> dict[str, Any]:
    """Tags as a plain dict, from checkov's `[{...}]` or raw JSON's `{...}`."""
    while isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k not in LINE_MARKERS and k != "//"}


PRODUCTION = "prod"
"""The production environment's name; `prod-<suffix>` (a region or account of it) is too."""


def is_production(environment: Any) -> bool:
    """Whether an `Environment` tag names production: `prod` or `prod-<suffix>` (prod-eu, a
    production copy in another region or account). An unknown environment (no tag) counts as
    production, so a rule that cannot tell fails safe."""
    if environment in (None, ""):
        return True
    name = str(environment)
    return name == PRODUCTION or name.startswith(f"{PRODUCTION}-")


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def ref(resource_type: str, name: str, attribute: str) -> str:
    return f"${{{resource_type}.{name}.{attribute}}}"


@lru_cache(maxsize=32)
def _read_stack(path: str) -> dict[str, Any] | None:
    try:
        stack = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stack if isinstance(stack, dict) else None


def _scan_roots_from_argv() -> list[Path]:
    roots, argv = [], sys.argv[1:]
    for index, argument in enumerate(argv):
        if argument in ("-d", "--directory") and index + 1 < len(argv):
            roots.append(Path(argv[index + 1]))
        elif argument.startswith("--directory="):
            roots.append(Path(argument.split("=", 1)[1]))
    return roots


def locate_stack_file(scanned_file: str) -> str | None:
    """Absolute path of the file checkov is scanning (see the module docstring)."""
    relative = scanned_file.lstrip("/")
    frame = sys._getframe(1)
    for _ in range(16):
        if frame is None:
            break
        candidate = frame.f_locals.get("full_file_path")
        if isinstance(candidate, str) and candidate.endswith(relative):
            return candidate
        frame = frame.f_back
    for root in _scan_roots_from_argv():
        if (root / relative).is_file():
            return str(root / relative)
    return scanned_file if Path(scanned_file).is_file() else None


class StackAwareCheck(BaseResourceCheck):
    """A resource check that can also read the whole Terraform JSON stack it came from."""

    def run(self, scanned_file, entity_configuration, entity_name, entity_type, skip_info):  # type: ignore[no-untyped-def]
        self.scanned_file, self.entity_name = scanned_file, entity_name
        self._stack_path = locate_stack_file(scanned_file)
        return super().run(scanned_file, entity_configuration, entity_name, entity_type, skip_info)

    def stack(self) -> dict[str, Any] | None:
        return _read_stack(self._stack_path) if self._stack_path else None

    def unverifiable(self) -> CheckResult:
        self.details.append(f"cannot read the stack {self.scanned_file}; rule not verified")
        return CheckResult.FAILED

    def own_ref(self, attribute: str) -> str:
        return ref(self.entity_type, self.entity_name, attribute)


def stack_resources(stack: dict[str, Any], *types: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, raw body) of every resource of the given types in a stack."""
    for resource_type in types:
        for name, body in (stack.get("resource", {}).get(resource_type) or {}).items():
            if isinstance(body, dict):
                yield resource_type, name, body


def provider_default_tags(stack: dict[str, Any] | None, provider: str | None) -> dict[str, Any]:
    """Default tags of the AWS provider configuration a resource uses (`aws` or `aws.<alias>`)."""
    if not stack:
        return {}
    alias = provider.split(".", 1)[1] if provider and "." in provider else None
    configs = stack.get("provider", {}).get("aws") or []
    for config in configs if isinstance(configs, list) else [configs]:
        if isinstance(config, dict) and config.get("alias") == alias:
            merged: dict[str, Any] = {}
            default_tags = config.get("default_tags") or []
            for block in default_tags if isinstance(default_tags, list) else [default_tags]:
                if isinstance(block, dict):
                    merged.update(tag_map(block.get("tags")))
            return merged
    return {}


def effective_tags(conf: dict[str, Any], stack: dict[str, Any] | None) -> dict[str, Any]:
    """Provider default tags overlaid with the resource's own tags, as AWS applies them."""
    provider = first(conf, "provider")
    return {
        **provider_default_tags(stack, provider if isinstance(provider, str) else None),
        **tag_map(conf.get("tags")),
    }
