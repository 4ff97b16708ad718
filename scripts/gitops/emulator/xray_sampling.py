"""X-Ray sampling rules and their tags in the emulator: moto 5.2.5 has no routes for them
(`CreateSamplingRule` and friends answer 404), and `aws_xray_sampling_rule` needs both.

The operations are added to moto's X-Ray response class and its URL table before the server
starts; the rules live in this process, per account and region, like moto's own state.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from moto.xray import urls as xray_urls
from moto.xray.responses import XRayResponse

_lock = threading.Lock()
_sampling_rules: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
"""(account, region) -> rule name -> SamplingRuleRecord."""
_xray_tags: dict[str, dict[str, str]] = {}
"""Sampling rule ARN -> tags."""

XRAY_ROUTES = (
    "CreateSamplingRule",
    "GetSamplingRules",
    "UpdateSamplingRule",
    "DeleteSamplingRule",
    "ListTagsForResource",
    "TagResource",
    "UntagResource",
)


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _rules(response: XRayResponse) -> dict[str, dict[str, Any]]:
    return _sampling_rules.setdefault((response.current_account, response.region), {})


def _not_found(response: XRayResponse, name: str) -> tuple[str, dict[str, int]]:
    return response._error("InvalidRequestException", f"Sampling rule {name} does not exist")


def _create_sampling_rule(self: XRayResponse) -> str | tuple[str, dict[str, int]]:
    rule = dict(self._get_param("SamplingRule") or {})
    name = rule.get("RuleName")
    if not name:
        return self._error("InvalidRequestException", "SamplingRule.RuleName is required")
    rule["RuleARN"] = f"arn:aws:xray:{self.region}:{self.current_account}:sampling-rule/{name}"
    with _lock:
        rules = _rules(self)
        if name in rules:
            return self._error("RuleLimitExceededException", f"Sampling rule {name} exists")
        now = _now()
        rules[name] = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
        tags = {t["Key"]: t["Value"] for t in self._get_param("Tags") or []}
        _xray_tags[rule["RuleARN"]] = tags
        return json.dumps({"SamplingRuleRecord": rules[name]})


def _get_sampling_rules(self: XRayResponse) -> str:
    with _lock:
        return json.dumps({"SamplingRuleRecords": list(_rules(self).values())})


def _rule_name(self: XRayResponse, body: dict[str, Any]) -> str | None:
    name = body.get("RuleName")
    arn = body.get("RuleARN")
    return name or (arn.rsplit("/", 1)[-1] if arn else None)


def _update_sampling_rule(self: XRayResponse) -> str | tuple[str, dict[str, int]]:
    update = self._get_param("SamplingRuleUpdate") or {}
    name = _rule_name(self, update)
    with _lock:
        record = _rules(self).get(name or "")
        if record is None:
            return _not_found(self, str(name))
        changes = {k: v for k, v in update.items() if k not in ("RuleName", "RuleARN")}
        record["SamplingRule"].update(changes)
        record["ModifiedAt"] = _now()
        return json.dumps({"SamplingRuleRecord": record})


def _delete_sampling_rule(self: XRayResponse) -> str | tuple[str, dict[str, int]]:
    name = _rule_name(self, self.request_params)
    with _lock:
        record = _rules(self).pop(name or "", None)
        if record is None:
            return _not_found(self, str(name))
        _xray_tags.pop(record["SamplingRule"]["RuleARN"], None)
        return json.dumps({"SamplingRuleRecord": record})


def _xray_list_tags(self: XRayResponse) -> str:
    with _lock:
        tags = _xray_tags.get(self._get_param("ResourceARN"), {})
        return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})


def _xray_tag(self: XRayResponse) -> str:
    with _lock:
        tags = _xray_tags.setdefault(self._get_param("ResourceARN"), {})
        tags.update({t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
    return "{}"


def _xray_untag(self: XRayResponse) -> str:
    with _lock:
        tags = _xray_tags.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
    return "{}"


def install() -> None:
    """Add the sampling-rule and tagging operations and their routes (idempotent)."""
    for attribute, replacement in (
        ("create_sampling_rule", _create_sampling_rule),
        ("get_sampling_rules", _get_sampling_rules),
        ("update_sampling_rule", _update_sampling_rule),
        ("delete_sampling_rule", _delete_sampling_rule),
        ("list_tags_for_resource", _xray_list_tags),
        ("tag_resource", _xray_tag),
        ("untag_resource", _xray_untag),
    ):
        setattr(XRayResponse, attribute, replacement)
    for route in XRAY_ROUTES:
        xray_urls.url_paths[f"{{0}}/{route}$"] = XRayResponse.dispatch
