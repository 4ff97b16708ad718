"""WAFv2 web ACLs on the public entry points: geo-blocking, a per-IP rate limit, and AWS managed
rule groups (common, known bad inputs, SQL injection, IP reputation), with redacted logging.

The API stage's ACL allows by default. The load balancer's own ACL, given an `OriginCheck`,
blocks by default: it first allows requests carrying API Gateway's origin header (those already
passed the API stage's ACL, so the other rules would only count API Gateway's few addresses
against the per-IP limit), then runs the usual rules on everything else and allows only the
operator networks. A web ACL covers every listener of the load balancer, so a test listener
added later is guarded by the same rules without touching the listeners CodeDeploy owns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_ip_set import Wafv2IpSet
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
)
from constructs import Construct

from infra.origin_verification import HEADER_NAME as ORIGIN_HEADER

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
REDACTED_HEADERS: tuple[str, ...] = ("x-api-key", "authorization", ORIGIN_HEADER)
"""Never written to WAF logs."""
ORIGIN_RULE = "allow-api-gateway-origin"
OPERATOR_RULE = "allow-operator-cidrs"


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


@dataclass(frozen=True)
class OriginCheck:
    """What a request must carry to pass without being an operator's."""

    header_name: str
    accepted_values: Sequence[str]
    """Any of these, exactly (the staggered origin values: next, sent and previous)."""
    operator_cidrs: Sequence[str] = ()
    """Left empty, the operator rule matches nobody: only API Gateway gets through."""

    def __post_init__(self) -> None:
        if not self.accepted_values:
            raise ValueError("OriginCheck.accepted_values is empty: nothing could ever pass")


@dataclass(frozen=True)
class WafProps:
    name: str
    """Name of the web ACL; its log group is `aws-waf-logs-<log_name>`."""
    log_name: str
    rate_limit_per_5_minutes: int
    blocked_countries: Sequence[str]
    """Left empty, no geo rule is created."""
    protected_resource_arns: Sequence[str]
    """Load balancer and API stage ARNs the ACL is associated with."""
    logs_kms_key_arn: str
    log_retention_days: int
    origin_check: OriginCheck | None = None
    """Left out, the ACL allows by default (the API stage's); set, it blocks by default."""


class Waf(Construct):
    def __init__(self, scope: Construct, id: str, props: WafProps) -> None:
        super().__init__(scope, id)
        check = props.origin_check
        self.operator_ip_set = (
            Wafv2IpSet(
                self,
                "operators",
                name=f"{props.name}-operators",
                description="Operator networks allowed without the origin header",
                scope="REGIONAL",
                ip_address_version="IPV4",
                addresses=list(check.operator_cidrs),
                tags={"Name": f"{props.name}-operators"},
            )
            if check
            else None
        )
        self.web_acl = Wafv2WebAcl(
            self,
            "acl",
            name=props.name,
            description=(
                "Fraud API load balancer: API Gateway's origin header or operators only"
                if check
                else "Fraud API: geo-block, rate limit, AWS managed rules"
            ),
            scope="REGIONAL",
            default_action={"block": {}} if check else {"allow": {}},
            visibility_config=_visibility(props.name),
            tags={"Name": props.name},
        )
        # Rules are deeply nested lists of blocks; they are written in Terraform's own JSON
        # shape (checked by `terraform validate` against the provider schema).
        self.web_acl.add_override("rule", self._rules(props))

        # WAF requires log groups named aws-waf-logs-*.
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"aws-waf-logs-{props.log_name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_kms_key_arn,
            tags={"Name": f"aws-waf-logs-{props.log_name}"},
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
        check = props.origin_check
        if check:
            rules.append(_origin_rule(check))
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
        if self.operator_ip_set is not None:
            rules.append(
                {
                    "name": OPERATOR_RULE,
                    "action": {"allow": {}},
                    "statement": {"ip_set_reference_statement": {"arn": self.operator_ip_set.arn}},
                    "visibility_config": _visibility(OPERATOR_RULE),
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


def _origin_rule(check: OriginCheck) -> dict[str, Any]:
    """Allow a request whose origin header is exactly one of the accepted values."""
    matches = [
        {
            "byte_match_statement": {
                "field_to_match": {"single_header": {"name": check.header_name}},
                "positional_constraint": "EXACTLY",
                "search_string": value,
                "text_transformation": [{"priority": 0, "type": "NONE"}],
            }
        }
        for value in check.accepted_values
    ]
    statement = matches[0] if len(matches) == 1 else {"or_statement": {"statement": matches}}
    return {
        "name": ORIGIN_RULE,
        "action": {"allow": {}},
        "statement": statement,
        "visibility_config": _visibility(ORIGIN_RULE),
    }
