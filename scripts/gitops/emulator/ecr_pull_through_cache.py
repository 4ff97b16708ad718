"""ECR's pull-through cache rules in the emulator, which moto 5.2.5 does not implement.

The stack keeps one rule per environment (infra/registry.py): the X-Ray daemon comes from ECR
Public through it, into a repository of the stack's own (only its first pull still needs the
tasks' reviewed HTTPS rule through NAT: docs/stack.md). The provider creates a rule, reads
it back by prefix after every create and plan, and deletes it on destroy; these three operations
keep the rules per account and region, as AWS does, and answer its errors (a prefix taken, a
prefix unknown). Nothing is pulled: the emulator runs no containers.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.responses import ECRResponse

_lock = threading.Lock()
_rules: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
"""(account, region) -> repository prefix -> PullThroughCacheRule."""


class PullThroughCacheRuleAlreadyExistsException(ServiceException):
    code = "PullThroughCacheRuleAlreadyExistsException"


class PullThroughCacheRuleNotFoundException(ServiceException):
    code = "PullThroughCacheRuleNotFoundException"


def _registry(response: ECRResponse) -> dict[str, dict[str, Any]]:
    return _rules.setdefault((response.current_account, response.region), {})


def _not_found(response: ECRResponse, prefix: str) -> PullThroughCacheRuleNotFoundException:
    return PullThroughCacheRuleNotFoundException(
        f"The pull through cache rule with the prefix '{prefix}' does not exist in the registry"
        f" with id '{response.current_account}'."
    )


def _create(self: ECRResponse) -> ActionResult:
    prefix = self._get_param("ecrRepositoryPrefix")
    rule = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": self._get_param("upstreamRegistryUrl"),
        "createdAt": datetime.now(UTC),
        "registryId": self.current_account,
        "upstreamRegistry": self._get_param("upstreamRegistry") or "ecr-public",
        "upstreamRepositoryPrefix": self._get_param("upstreamRepositoryPrefix") or "ROOT",
    }
    with _lock:
        rules = _registry(self)
        if prefix in rules:
            raise PullThroughCacheRuleAlreadyExistsException(
                f"A pull through cache rule with the prefix '{prefix}' already exists."
            )
        rules[prefix] = rule
    return ActionResult({key: value for key, value in rule.items() if key != "updatedAt"})


def _describe(self: ECRResponse) -> ActionResult:
    wanted = self._get_param("ecrRepositoryPrefixes")
    with _lock:
        rules = _registry(self)
        for prefix in wanted or ():
            if prefix not in rules:
                raise _not_found(self, prefix)
        found = [rules[p] for p in wanted] if wanted else list(rules.values())
    return ActionResult({"pullThroughCacheRules": found})


def _delete(self: ECRResponse) -> ActionResult:
    prefix = self._get_param("ecrRepositoryPrefix")
    with _lock:
        rule = _registry(self).pop(prefix, None)
    if rule is None:
        raise _not_found(self, prefix)
    return ActionResult(rule)


def install() -> None:
    """Add the three operations to moto's ECR (idempotent)."""
    for operation, handler in (
        ("create_pull_through_cache_rule", _create),
        ("describe_pull_through_cache_rules", _describe),
        ("delete_pull_through_cache_rule", _delete),
    ):
        setattr(ECRResponse, operation, handler)
