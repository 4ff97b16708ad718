"""Evaluate a synthesized stack's load balancer path as data: security group, web ACL, listener.

A request is a port, a source address and headers. Secret values are unknown at synth time, so
header values are compared with the rule's search string as written (the Terraform reference):
a request "carrying value A" carries `${local.origin-verification_value-a-sensitive_...}`.
Rules that depend on traffic (rate limits, managed rule groups) are taken not to match: the
request is well-formed and alone, which is the case where a bypass would matter.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    source_ip: str
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 443
    country: str = "US"


def _named(stack: dict[str, Any], kind: str, reference: str) -> dict[str, Any] | None:
    """The resource a `${kind.name.attr}` reference names."""
    for name, body in stack["resource"].get(kind, {}).items():
        if reference.startswith(f"${{{kind}.{name}."):
            return body
    return None


def _public_alb(stack: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (name,) = [n for n, b in stack["resource"]["aws_lb"].items() if b.get("internal") is False]
    return name, stack["resource"]["aws_lb"][name]


def _in(address: str, cidr: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr)


def security_group_admits(stack: dict[str, Any], request: Request) -> bool:
    _, alb = _public_alb(stack)
    groups = set(alb["security_groups"])
    return any(
        rule["security_group_id"] in groups
        and rule["from_port"] <= request.port <= rule["to_port"]
        and "cidr_ipv4" in rule
        and _in(request.source_ip, rule["cidr_ipv4"])
        for rule in stack["resource"].get("aws_vpc_security_group_ingress_rule", {}).values()
    )


def web_acl_of(stack: dict[str, Any]) -> dict[str, Any] | None:
    name, _ = _public_alb(stack)
    for association in stack["resource"].get("aws_wafv2_web_acl_association", {}).values():
        if association["resource_arn"] == f"${{aws_lb.{name}.arn}}":
            return _named(stack, "aws_wafv2_web_acl", association["web_acl_arn"])
    return None


def _matches(stack: dict[str, Any], statement: dict[str, Any], request: Request) -> bool:
    if "byte_match_statement" in statement:
        match = statement["byte_match_statement"]
        header = match["field_to_match"]["single_header"]["name"].lower()
        value = {k.lower(): v for k, v in request.headers.items()}.get(header)
        assert match["positional_constraint"] == "EXACTLY", match
        return value is not None and value == match["search_string"]
    if "ip_set_reference_statement" in statement:
        ip_set = _named(stack, "aws_wafv2_ip_set", statement["ip_set_reference_statement"]["arn"])
        assert ip_set is not None, statement
        return any(_in(request.source_ip, cidr) for cidr in ip_set["addresses"])
    if "geo_match_statement" in statement:
        return request.country in statement["geo_match_statement"]["country_codes"]
    if "or_statement" in statement:
        return any(_matches(stack, s, request) for s in statement["or_statement"]["statement"])
    if "and_statement" in statement:
        return all(_matches(stack, s, request) for s in statement["and_statement"]["statement"])
    if "not_statement" in statement:
        return not _matches(stack, statement["not_statement"]["statement"], request)
    if {"rate_based_statement", "managed_rule_group_statement"} & statement.keys():
        return False
    raise AssertionError(f"statement the evaluator does not know: {sorted(statement)}")


def web_acl_allows(stack: dict[str, Any], request: Request) -> bool:
    acl = web_acl_of(stack)
    if acl is None:
        return True
    for rule in sorted(acl.get("rule", []), key=lambda r: r["priority"]):
        action = rule.get("action", {})
        if "count" in action or not _matches(stack, rule["statement"], request):
            continue
        if "allow" in action:
            return True
        if "block" in action:
            return False
    return "allow" in acl["default_action"]


def forwarded_target_groups(stack: dict[str, Any], port: int) -> list[str]:
    """Target groups the listener on `port` forwards to with a weight above zero."""
    name, _ = _public_alb(stack)
    groups: list[str] = []
    for listener in stack["resource"]["aws_lb_listener"].values():
        if listener["load_balancer_arn"] != f"${{aws_lb.{name}.arn}}" or listener["port"] != port:
            continue
        for action in listener["default_action"]:
            if action["type"] != "forward":
                continue
            targets = (
                action["forward"]["target_group"]
                if "forward" in action
                else [{"arn": action["target_group_arn"], "weight": 1}]
            )
            for target in targets:
                group = _named(stack, "aws_lb_target_group", target["arn"])
                if target["weight"] > 0 and group is not None:
                    groups.append(group["name"])
    return groups


def reachable_target_groups(stack: dict[str, Any], request: Request) -> list[str]:
    """Where the request ends up: none when the security group or the web ACL stops it."""
    if not security_group_admits(stack, request) or not web_acl_allows(stack, request):
        return []
    return forwarded_target_groups(stack, request.port)
