"""CKV_FD_12: nothing reaches an internet-facing ALB's target groups without proving its origin.

API keys, quotas and request validation live on API Gateway; a public load balancer that
forwards anything would let a caller skip them. An internet-facing application load balancer
passes when either

- its associated WAFv2 web ACL blocks by default and every rule that allows checks an origin
  proof: a `byte_match_statement` on a single header, `EXACTLY`, whose search string comes from
  somewhere other than the code (see `_generated`: a value Terraform generates or a resource or
  data source provides, through any locals; never a literal, even one wrapped in a local, a
  function or a `terraform_data`), or an
  `ip_set_reference_statement` to an IP set of the stack whose addresses are no wider than /8
  (operator networks); `and` needs one such branch, `or` needs them all; or
- every listener that forwards verifies client certificates (`mutual_authentication` mode
  `verify`).

A rule that runs a rule group whose rules the stack's JSON does not show (a custom rule group
by reference, or another vendor's managed group) could allow anything, so it fails unless its
`override_action` is `count`; AWS's own managed rule groups are taken to block or count.

Limits: it reads the stack's own JSON (an ACL or IP set from elsewhere fails).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, first, is_true, stack_resources

WIDEST_PREFIX = 8


def _one(value: Any) -> dict[str, Any]:
    """A block as a dict, whether Terraform JSON wrote it as `{...}` or `[{...}]`."""
    while isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, dict) else {}


STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
REFERENCE = re.compile(
    r"(?<![\w.-])(local|var|data\.[a-z0-9_]+|[a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)"
)
"""`local.<name>`, `var.<name>`, `data.<type>.<name>`, `<type>.<name>`: kind and name."""
NOT_A_SOURCE = frozenset({"path", "terraform", "count", "each", "self"})
"""Named values that are known from the code itself."""
GENERATORS = ("uuid()",)
"""Functions whose result Terraform draws at random: a value from one is no literal."""
MAX_DEPTH = 8


def _generated(value: Any, stack: dict[str, Any], depth: int = 0) -> bool:
    """Whether a search string is a value the code does not spell out: one `${...}` expression
    that, string literals aside, calls a generator or names a resource, data source or variable,
    or a local or `terraform_data` whose own expression does (followed through)."""
    if depth > MAX_DEPTH or not isinstance(value, str):
        return False
    if not (value.startswith("${") and value.endswith("}")) or "${" in value[2:]:
        return False  # a literal, or a template mixing one with expressions
    expression = STRING_LITERAL.sub('""', value[2:-1])
    if any(generator in expression for generator in GENERATORS):
        return True
    for kind, name in REFERENCE.findall(expression):
        if kind in NOT_A_SOURCE:
            continue
        if kind == "local":
            target = (stack.get("locals") or {}).get(name)
        elif kind == "terraform_data":
            body = (stack.get("resource", {}).get("terraform_data") or {}).get(name) or {}
            target = body.get("input")
        else:
            return True  # a resource's or data source's attribute, or a variable
        if _generated(target, stack, depth + 1):
            return True
    return False


def _opaque_group(statement: dict[str, Any]) -> str | None:
    """The rule group a statement runs when this check cannot see its rules, else None."""
    if "rule_group_reference_statement" in statement:
        return "a custom rule group"
    managed = _one(statement.get("managed_rule_group_statement"))
    if managed and managed.get("vendor_name") != "AWS":
        return f"{managed.get('vendor_name')!r}'s managed rule group"
    return None


class OriginVerified(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Internet-facing load balancers forward only requests that prove they came "
            "through API Gateway (origin header in WAF) or carry a verified client certificate",
            id="CKV_FD_12",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_lb", "aws_alb"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["internal", "load_balancer_type"]
        if is_true(first(conf, "internal")) or first(
            conf, "load_balancer_type", "application"
        ) not in ("application",):
            return CheckResult.UNKNOWN
        stack = self.stack()
        if stack is None:
            return self.unverifiable()
        if self._listeners_verify_certificates(stack):
            return CheckResult.PASSED
        problems = self._web_acl_problems(stack)
        if not problems:
            return CheckResult.PASSED
        self.details.extend(problems)
        return CheckResult.FAILED

    def _listeners_verify_certificates(self, stack: dict) -> bool:
        listeners = [
            body
            for _, _, body in stack_resources(stack, "aws_lb_listener", "aws_alb_listener")
            if body.get("load_balancer_arn") == self.own_ref("arn")
        ]
        forwarding = [
            body
            for body in listeners
            if any(
                _one(action).get("type") != "redirect"
                for action in (body.get("default_action") or [])
            )
        ]
        return bool(forwarding) and all(
            _one(body.get("mutual_authentication")).get("mode") == "verify" for body in forwarding
        )

    def _web_acl_problems(self, stack: dict) -> list[str]:
        acls = {
            f"${{aws_wafv2_web_acl.{name}.arn}}": (name, body)
            for _, name, body in stack_resources(stack, "aws_wafv2_web_acl")
        }
        associated = [
            acls[body.get("web_acl_arn")]
            for _, _, body in stack_resources(stack, "aws_wafv2_web_acl_association")
            if body.get("resource_arn") == self.own_ref("arn") and body.get("web_acl_arn") in acls
        ]
        if not associated:
            return ["no web ACL of this stack is associated, and listeners do not verify mTLS"]
        name, acl = associated[0]
        if "block" not in _one(acl.get("default_action")):
            return [f"web ACL {name} allows by default: a request without the header gets through"]
        ip_sets = {
            f"${{aws_wafv2_ip_set.{set_name}.arn}}": body
            for _, set_name, body in stack_resources(stack, "aws_wafv2_ip_set")
        }
        problems = []
        for rule in acl.get("rule") or []:
            if not isinstance(rule, dict):
                continue
            opaque = _opaque_group(_one(rule.get("statement")))
            if opaque and "count" not in _one(rule.get("override_action")):
                problems.append(
                    f"web ACL {name} rule {rule.get('name')!r} runs {opaque} whose rules may allow"
                    " without an origin proof (override it to count)"
                )
            if "allow" not in _one(rule.get("action")):
                continue
            if not self._proves_origin(_one(rule.get("statement")), ip_sets, stack):
                problems.append(
                    f"web ACL {name} rule {rule.get('name')!r} allows without an origin proof"
                )
        return problems

    def _proves_origin(
        self, statement: dict[str, Any], ip_sets: dict[str, dict], stack: dict[str, Any]
    ) -> bool:
        if "byte_match_statement" in statement:
            match = _one(statement["byte_match_statement"])
            header = _one(_one(match.get("field_to_match")).get("single_header")).get("name")
            return (
                bool(header)
                and match.get("positional_constraint") == "EXACTLY"
                and _generated(match.get("search_string"), stack)
            )
        if "ip_set_reference_statement" in statement:
            ip_set = ip_sets.get(_one(statement["ip_set_reference_statement"]).get("arn"))
            return ip_set is not None and _narrow(ip_set.get("addresses"))
        branches = [
            _one(branch)
            for key in ("and_statement", "or_statement")
            for branch in _one(statement.get(key)).get("statement") or []
        ]
        if "and_statement" in statement:
            return any(self._proves_origin(branch, ip_sets, stack) for branch in branches)
        if "or_statement" in statement:
            return bool(branches) and all(
                self._proves_origin(branch, ip_sets, stack) for branch in branches
            )
        return False


def _narrow(addresses: Any) -> bool:
    """Literal IPv4 networks each no wider than /8 (an empty set matches nobody)."""
    if not isinstance(addresses, list):
        return False
    try:
        return all(
            ipaddress.ip_network(address, strict=False).prefixlen >= WIDEST_PREFIX
            for address in addresses
        )
    except (TypeError, ValueError):
        return False


check = OriginVerified()
