"""CKV_FD_4: the database is never publicly accessible and is reachable only from security groups.

- aws_db_instance / aws_rds_cluster_instance: `publicly_accessible` must not be true (the
  provider's default is false).
- ingress rules of a database security group (one named in `vpc_security_group_ids` of an
  aws_rds_cluster, aws_db_instance or aws_rds_cluster_instance in the same stack) must name a
  source security group and no CIDR or prefix list. Rules of other groups are not this rule's
  business (CKV_FD_3 covers them).
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, blocks, first, is_true, stack_resources, strings

DATABASE_TYPES = ("aws_rds_cluster", "aws_db_instance", "aws_rds_cluster_instance")
CIDR_KEYS = ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6", "prefix_list_ids",
             "prefix_list_id")  # fmt: skip
SOURCE_GROUP_KEYS = ("referenced_security_group_id", "source_security_group_id", "security_groups")


def database_group_refs(stack: dict) -> set[str]:
    """Every `${aws_security_group.<name>.id}` a database in the stack is attached to."""
    refs: set[str] = set()
    for _, _, body in stack_resources(stack, *DATABASE_TYPES):
        refs.update(strings(body.get("vpc_security_group_ids")))
    return refs


class DatabasePrivate(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databases are not publicly accessible and admit traffic only from security "
            "groups, never from a CIDR",
            id="CKV_FD_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_db_instance",
                "aws_rds_cluster_instance",
                "aws_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
            ],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        if self.entity_type in ("aws_db_instance", "aws_rds_cluster_instance"):
            self.evaluated_keys = ["publicly_accessible"]
            if is_true(first(conf, "publicly_accessible")):
                self.details.append("publicly_accessible is true")
                return CheckResult.FAILED
            return CheckResult.PASSED

        stack = self.stack()
        if stack is None:
            return self.unverifiable()
        if self.entity_type == "aws_security_group":
            group_ref, rules = self.own_ref("id"), blocks(conf, "ingress")
        else:
            if self.entity_type == "aws_security_group_rule" and first(conf, "type") != "ingress":
                return CheckResult.UNKNOWN
            group_ref, rules = first(conf, "security_group_id"), [conf]
        if group_ref not in database_group_refs(stack):
            return CheckResult.UNKNOWN
        self.evaluated_keys = [*CIDR_KEYS, *SOURCE_GROUP_KEYS]
        for rule in rules:
            cidrs = [c for key in CIDR_KEYS for c in strings(rule.get(key))]
            sources = [s for key in SOURCE_GROUP_KEYS for s in strings(rule.get(key))]
            if is_true(first(rule, "self")):
                sources.append("self")
            if cidrs:
                self.details.append("database ingress from " + ", ".join(cidrs))
            elif not sources:
                self.details.append("database ingress names no source security group")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = DatabasePrivate()
