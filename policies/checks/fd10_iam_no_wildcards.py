"""CKV_FD_10: IAM policies allow no wildcard actions, and `*` resources only where AWS needs it.

Applies to the Allow statements of aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy and
aws_iam_group_policy (the `policy` JSON string; `${...}` references inside it are plain strings
to json.loads). An action `*` or `<service>:*`, or any `NotAction`/`NotResource` in an Allow,
fails. A `Resource: "*"` passes only when every action of the statement is in
RESOURCE_WILDCARD_REASON: the actions AWS offers no resource-level permission for.

RESOURCE_WILDCARD_REASON mirrors `infra.task_roles.RESOURCE_WILDCARD_REASON` (a test keeps them
equal). It is not imported from there: importing `infra` inside checkov starts the jsii runtime
(about 5 s, and a Node end-of-life banner) for a dozen strings.

Out of scope: KMS key policies (aws_kms_key `policy`, where `Resource: "*"` means "this key"),
trust policies (checked by CKV_AWS_60/61) and S3 bucket policies (CKV_FD_8, CKV_AWS_70).
"""

from __future__ import annotations

import json

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import first

_XRAY = "X-Ray has no resource-level permissions"
_REGISTRY_LOGIN = "ecr:GetAuthorizationToken"  # pragma: allowlist secret
_ELB_READ = "CodeDeploy reads the load balancer; Describe* has no resource-level form"
RESOURCE_WILDCARD_REASON = {
    _REGISTRY_LOGIN: "authorizes the registry as a whole; no resource-level form",
    "xray:PutTraceSegments": _XRAY,
    "xray:PutTelemetryRecords": _XRAY,
    "xray:GetSamplingRules": _XRAY,
    "xray:GetSamplingTargets": _XRAY,
    "xray:GetSamplingStatisticSummaries": _XRAY,
    "elasticloadbalancing:DescribeListeners": _ELB_READ,
    "elasticloadbalancing:DescribeRules": _ELB_READ,
    "elasticloadbalancing:DescribeTargetGroups": _ELB_READ,
}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def statement_problems(statement: dict) -> list[str]:
    sid = statement.get("Sid", "(no Sid)")
    problems = []
    for key in ("NotAction", "NotResource"):
        if key in statement:
            problems.append(f"{sid}: Allow with {key}")
    actions = [str(a) for a in as_list(statement.get("Action"))]
    for action in actions:
        if action == "*" or action.endswith(":*"):
            problems.append(f"{sid}: wildcard action {action}")
    if "*" in as_list(statement.get("Resource")):
        unlisted = [a for a in actions if a not in RESOURCE_WILDCARD_REASON]
        if unlisted:
            problems.append(f"{sid}: Resource * for {', '.join(unlisted)}")
    return problems


class IamNoWildcards(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM policies allow no wildcard actions and use Resource * only for actions "
            "without resource-level permissions",
            id="CKV_FD_10",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "aws_iam_policy",
                "aws_iam_role_policy",
                "aws_iam_user_policy",
                "aws_iam_group_policy",
            ],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["policy"]
        raw = first(conf, "policy")
        try:
            document = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self.details.append("policy is not a literal JSON document")
            return CheckResult.FAILED
        for statement in as_list(document.get("Statement")):
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                self.details.extend(statement_problems(statement))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = IamNoWildcards()
