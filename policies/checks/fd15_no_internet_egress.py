"""CKV_FD_15: no security group lets traffic out to public addresses.

Covers inline `egress` blocks of aws_security_group / aws_default_security_group,
aws_security_group_rule of type egress and aws_vpc_security_group_egress_rule. Traffic out of the
stack's tiers goes to another group (load balancer -> tasks -> database, tasks -> the AWS service
endpoints), to a managed prefix list (S3's gateway endpoint) or to private addresses (RFC 1918,
IPv6 unique-local). A CIDR that reaches any public address fails, on any port: `0.0.0.0/0` as
much as `0.0.0.0/1` plus `128.0.0.0/1`, or one public /24. A value that is not a literal CIDR
(a reference to the VPC's block) is left to the plan. PCI DSS 1.3.2: outbound traffic from the
cardholder data environment is limited to what is necessary.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import SECURITY_GROUP_RULE_TYPES, direction_rules, first, strings

PRIVATE = tuple(
    ipaddress.ip_network(block)
    for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
CIDR_KEYS = ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6")


def public_cidrs(rule: dict[str, Any]) -> list[str]:
    """The literal CIDRs of a rule that reach beyond private address space."""
    found = []
    for cidr in (c for key in CIDR_KEYS for c in strings(rule.get(key))):
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue  # `${aws_vpc.x.cidr_block}` and the like: known only at plan
        if not any(
            network.version == private.version and network.subnet_of(private) for private in PRIVATE
        ):
            found.append(cidr)
    return found


class NoInternetEgress(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Security groups let nothing out to public addresses",
            id="CKV_FD_15",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                t for t in SECURITY_GROUP_RULE_TYPES if not t.endswith("ingress_rule")
            ],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.details = []
        found = direction_rules(self.entity_type, conf, "egress")
        if found is None:
            return CheckResult.UNKNOWN
        rules, _, self.evaluated_keys = found
        for rule in rules:
            for cidr in public_cidrs(rule):
                ports = f"{first(rule, 'from_port')}-{first(rule, 'to_port')}"
                self.details.append(f"egress to public addresses {cidr} on port {ports}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NoInternetEgress()
