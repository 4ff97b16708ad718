"""CKV_FD_15: no security group lets anything out to the internet (0.0.0.0/0, ::/0).

Covers inline `egress` blocks of aws_security_group / aws_default_security_group,
aws_security_group_rule of type egress and aws_vpc_security_group_egress_rule. Traffic out of the
stack's tiers goes to another group (load balancer -> tasks -> database, tasks -> the AWS service
endpoints) or to a managed prefix list (S3's gateway endpoint); an address range covering the
whole internet fails, on any port. PCI DSS 1.3.2: outbound traffic from the cardholder data
environment is limited to what is necessary.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import blocks, first, open_to_anywhere


class NoInternetEgress(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Security groups let nothing out to 0.0.0.0/0 or ::/0",
            id="CKV_FD_15",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_security_group",
                "aws_default_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_egress_rule",
            ],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.details = []
        if self.entity_type in ("aws_security_group", "aws_default_security_group"):
            self.evaluated_keys = ["egress"]
            rules = blocks(conf, "egress")
        elif self.entity_type == "aws_security_group_rule":
            self.evaluated_keys = ["type", "cidr_blocks", "ipv6_cidr_blocks"]
            if first(conf, "type") != "egress":
                return CheckResult.UNKNOWN
            rules = [conf]
        else:
            self.evaluated_keys = ["cidr_ipv4", "cidr_ipv6"]
            rules = [conf]
        for rule in rules:
            if open_to_anywhere(rule):
                ports = f"{first(rule, 'from_port')}-{first(rule, 'to_port')}"
                self.details.append(f"egress to anywhere on port {ports}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NoInternetEgress()
