"""CKV_FD_11: every public entry point has a WAFv2 web ACL associated.

Public entry points: internet-facing load balancers (aws_lb/aws_alb with `internal` not true)
and API Gateway REST stages (aws_api_gateway_stage, unless the REST API's endpoint type is
PRIVATE). Each needs an aws_wafv2_web_acl_association in the same stack whose `resource_arn` is
`${<type>.<name>.arn}` and whose `web_acl_arn` names an aws_wafv2_web_acl. An internet-facing
network or gateway load balancer fails: WAF cannot be attached to one.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, first, is_true, stack_resources, strings


class PublicEntryWaf(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Internet-facing load balancers and API Gateway stages have a WAFv2 web ACL "
            "associated",
            id="CKV_FD_11",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_lb", "aws_alb", "aws_api_gateway_stage"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        stack = self.stack()
        if stack is None:
            return self.unverifiable()
        if self.entity_type == "aws_api_gateway_stage":
            self.evaluated_keys = ["rest_api_id"]
            if self._private_api(stack, first(conf, "rest_api_id")):
                return CheckResult.UNKNOWN
        else:
            self.evaluated_keys = ["internal", "load_balancer_type"]
            if is_true(first(conf, "internal")):
                return CheckResult.UNKNOWN
        target = self.own_ref("arn")
        for _, _, body in stack_resources(stack, "aws_wafv2_web_acl_association"):
            if body.get("resource_arn") == target and str(body.get("web_acl_arn", "")).startswith(
                "${aws_wafv2_web_acl."
            ):
                return CheckResult.PASSED
        self.details.append("no aws_wafv2_web_acl_association names this resource")
        return CheckResult.FAILED

    @staticmethod
    def _private_api(stack: dict, rest_api_ref: object) -> bool:
        for _, name, body in stack_resources(stack, "aws_api_gateway_rest_api"):
            if rest_api_ref == f"${{aws_api_gateway_rest_api.{name}.id}}":
                configuration = body.get("endpoint_configuration") or {}
                configuration = (
                    configuration[0] if isinstance(configuration, list) else configuration
                )
                return "PRIVATE" in set(strings(configuration.get("types")))
        return False


check = PublicEntryWaf()
