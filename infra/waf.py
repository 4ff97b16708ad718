"""WAFv2 web ACL on the public entry points: geo-blocking, a per-IP rate limit, and AWS managed
rule groups (common, known bad inputs, SQL injection, IP reputation), with redacted logging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
)
from constructs import Construct

from infra.naming import Naming

MANAGED_RULE_GROUPS: tuple[str, ...] = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
)
COUNT_ONLY_RULES: dict[str, tuple[str, ...]] = {
    # Merchants call the API from servers, many of them in clouds: counting these keeps the
    # signal without blocking legitimate server-to-server traffic.
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}
REDACTED_HEADERS: tuple[str, ...] = ("x-api-key", "authorization")
"""Never written to WAF logs."""


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


@dataclass(frozen=True)
class WafProps:
    naming: Naming
    rate_limit_per_5_minutes: int
    blocked_countries: Sequence[str]
    """Left empty, no geo rule is created."""
    protected_resource_arns: Sequence[str]
    """Load balancer and API stage ARNs the ACL is associated with."""
    logs_kms_key_arn: str
    log_retention_days: int


class Waf(Construct):
    def __init__(self, scope: Construct, id: str, props: WafProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        self.web_acl = Wafv2WebAcl(
            self,
            "acl",
            name=naming.name("waf"),
            description="Fraud API: geo-block, rate limit, AWS managed rules",
            scope="REGIONAL",
            default_action={"allow": {}},
            visibility_config=_visibility(naming.name("waf")),
            tags=naming.tags("waf"),
        )
        # Rules are deeply nested lists of blocks; they are written in Terraform's own JSON
        # shape (checked by `terraform validate` against the provider schema).
        self.web_acl.add_override("rule", self._rules(props))

        # WAF requires log groups named aws-waf-logs-*.
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"aws-waf-logs-{naming.name('api')}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_kms_key_arn,
            tags=naming.tags("waf", "logs"),
        )
        logging = Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.log_group.arn],
        )
        logging.add_override(
            "redacted_fields", [{"single_header": {"name": name}} for name in REDACTED_HEADERS]
        )
        for index, resource_arn in enumerate(props.protected_resource_arns):
            Wafv2WebAclAssociation(
                self,
                f"association-{index}",
                resource_arn=resource_arn,
                web_acl_arn=self.web_acl.arn,
            )

    def _rules(self, props: WafProps) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        if props.blocked_countries:
            rules.append(
                {
                    "name": "geo-block",
                    "action": {"block": {}},
                    "statement": {
                        "geo_match_statement": {"country_codes": list(props.blocked_countries)}
                    },
                    "visibility_config": _visibility("geo-block"),
                }
            )
        rules.append(
            {
                "name": "rate-limit-per-ip",
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {
                        "limit": props.rate_limit_per_5_minutes,
                        "aggregate_key_type": "IP",
                    }
                },
                "visibility_config": _visibility("rate-limit-per-ip"),
            }
        )
        for group in MANAGED_RULE_GROUPS:
            rules.append(
                {
                    "name": group,
                    "override_action": {"none": {}},
                    "statement": {
                        "managed_rule_group_statement": {
                            "name": group,
                            "vendor_name": "AWS",
                            **self._count_only(group),
                        }
                    },
                    "visibility_config": _visibility(group),
                }
            )
        for priority, rule in enumerate(rules):
            rule["priority"] = priority
        return rules

    @staticmethod
    def _count_only(group: str) -> dict[str, Any]:
        overrides = [
            {"name": rule, "action_to_use": {"count": {}}}
            for rule in COUNT_ONLY_RULES.get(group, ())
        ]
        return {"rule_action_override": overrides} if overrides else {}
