"""IAM roles of the API task, least privilege: each statement names its one resource.

- execution role (used by ECS to start the task): pull the API image from its repository and
  the X-Ray daemon from its pull-through cache repository (importing it from ECR Public on the
  first pull), write this log group. `ecr:GetAuthorizationToken` has no resource-level form,
  so it takes `*`.
- task role (used by the API code): read the one database secret, decrypt it through Secrets
  Manager only, write its own log group, and send traces. X-Ray's write and sampling actions
  have no resource-level form, so they take `*`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from infra.naming import Naming
from infra.policy_document import assume_role, document, statement

XRAY_WRITE_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
)
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
REGISTRY_LOGIN_ACTION = "ecr:GetAuthorizationToken"  # pragma: allowlist secret
RESOURCE_WILDCARD_REASON = {
    REGISTRY_LOGIN_ACTION: "authorizes the registry as a whole; no resource-level form",
    **{action: "X-Ray has no resource-level permissions" for action in XRAY_WRITE_ACTIONS},
    **{
        action: "CodeDeploy reads the load balancer; Describe* has no resource-level form"
        for action in (
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups",
        )
    },
}
"""Actions that AWS only grants on `*`, with the reason; policies/ checks read this list."""


@dataclass(frozen=True)
class TaskRolesProps:
    naming: Naming
    account_id: str
    region: str
    repository_arn: str
    sidecar_repository_arn: str
    """The X-Ray daemon's pull-through cache repository (infra/registry.py)."""
    log_group_arn: str
    secret_arn: str
    """The one secret the API may read: the database master secret."""
    secret_kms_key_arn: str


class TaskRoles(Construct):
    def __init__(self, scope: Construct, id: str, props: TaskRolesProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        trust = assume_role("ecs-tasks.amazonaws.com", account_id=props.account_id)
        log_streams = f"{props.log_group_arn}:log-stream:*"
        write_logs = statement(
            "WriteOwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_streams]
        )

        self.execution = IamRole(
            self, "execution", name=naming.name("api", "execution"), assume_role_policy=trust,
            tags=naming.tags("api", "execution"),
        )  # fmt: skip
        IamRolePolicy(
            self,
            "execution-policy",
            name="pull-image-and-write-logs",
            role=self.execution.id,
            policy=document(
                statement("AuthorizeRegistry", [REGISTRY_LOGIN_ACTION], "*"),
                statement("PullApiImage", PULL_ACTIONS, [props.repository_arn]),
                statement(
                    "PullDaemonThroughTheCache",
                    [*PULL_ACTIONS, "ecr:BatchImportUpstreamImage"],
                    [props.sidecar_repository_arn],
                ),
                write_logs,
            ),
        )

        self.task = IamRole(
            self, "task", name=naming.name("api", "task"), assume_role_policy=trust,
            tags=naming.tags("api", "task"),
        )  # fmt: skip
        IamRolePolicy(
            self,
            "task-policy",
            name="read-secret-write-logs-trace",
            role=self.task.id,
            policy=document(
                statement(
                    "ReadDatabaseSecret",
                    ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    [props.secret_arn],
                ),
                statement(
                    "DecryptSecretViaSecretsManager",
                    ["kms:Decrypt"],
                    [props.secret_kms_key_arn],
                    condition={
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{props.region}.amazonaws.com"
                        }
                    },
                ),
                write_logs,
                statement("SendTraces", XRAY_WRITE_ACTIONS, "*"),
            ),
        )
