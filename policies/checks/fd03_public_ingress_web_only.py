"""CKV_FD_3: ingress from anywhere (0.0.0.0/0, ::/0) only to TCP/UDP port 80 or 443.

Covers inline `ingress` blocks of aws_security_group / aws_default_security_group,
aws_security_group_rule of type ingress and aws_vpc_security_group_ingress_rule. A rule open to
anywhere must name a single port, 80 or 443; all-protocol rules (`-1`) and port ranges fail.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import SECURITY_GROUP_RULE_TYPES, direction_rules, first, open_to_anywhere

WEB_PORTS = frozenset({80, 443})
PORT_PROTOCOLS = frozenset({"tcp", "udp", "6", "17"})


def web_only(rule: dict, protocol_key: str) -> bool:
    protocol = str(first(rule, protocol_key, "")).lower()
    try:
        low, high = int(first(rule, "from_port")), int(first(rule, "to_port"))
    except (TypeError, ValueError):
        return False
    return protocol in PORT_PROTOCOLS and low == high and low in WEB_PORTS


class PublicIngressWebOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Security groups admit 0.0.0.0/0 or ::/0 only to port 80 or 443",
            id="CKV_FD_3",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                t for t in SECURITY_GROUP_RULE_TYPES if not t.endswith("egress_rule")
            ],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.details = []
        found = direction_rules(self.entity_type, conf, "ingress")
        if found is None:
            return CheckResult.UNKNOWN
        rules, protocol_key, self.evaluated_keys = found
        for rule in rules:
            if open_to_anywhere(rule) and not web_only(rule, protocol_key):
                self.details.append(
                    f"open to anywhere on {first(rule, protocol_key)} "
                    f"{first(rule, 'from_port')}-{first(rule, 'to_port')}"
                )
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = PublicIngressWebOnly()
