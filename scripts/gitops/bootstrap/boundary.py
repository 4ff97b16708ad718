"""`fraud-boundary-<env>`: the permissions boundary every role of a stack carries, the most any
of them may ever do (the apply role may only create roles that carry it)."""

from __future__ import annotations

from typing import Any

from infra.config import EnvironmentConfig

BOUNDARY_ACTIONS = (
    # ECS task execution: pull the image, write the log group
    "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    # the API task: traces; API Gateway and RDS monitoring: their log groups
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries",
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
    "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents",
    "logs:PutRetentionPolicy",
    # CodeDeploy's blue/green role: shift the ECS service between task sets and listeners,
    # watch the rollback alarms, hand the task roles to ECS (its own policy says to whom)
    "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeServices",
    "ecs:UpdateServicePrimaryTaskSet", "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:ModifyListener", "cloudwatch:DescribeAlarms",
)  # fmt: skip
"""The most a role of the stack may do on any resource: what its own policies and the AWS
managed policies it attaches grant (a test checks both against this list and SECRET_ACTIONS)."""
CACHE_IMPORTS = ("ecr:BatchImportUpstreamImage",)
"""ECS task execution's first pull of the X-Ray daemon through the pull-through cache: only
into the stack's own repositories."""
SECRET_READS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
SECRET_DECRYPT = ("kms:Decrypt",)
SECRET_ACTIONS = (*SECRET_READS, *SECRET_DECRYPT)
"""The API task's read of the database secret: in the boundary only on the secrets RDS manages
(`rds!cluster-*`), decrypted only through Secrets Manager, so no role the apply role creates
can read any other secret in the account."""


def _statement(
    sid: str, actions: Any, resources: Any, effect: str = "Allow", condition: Any = None
) -> dict[str, Any]:
    body = {"Sid": sid, "Effect": effect, "Action": sorted(set(actions)), "Resource": resources}
    return body | ({"Condition": condition} if condition else {})


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def boundary_policy(config: EnvironmentConfig) -> dict[str, Any]:
    state = config.state
    bucket = f"arn:aws:s3:::{state.bucket}"
    through_secrets_manager = {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.amazonaws.com"}
    }
    table = f"arn:aws:dynamodb:{state.region}:{config.account_id}:table/{state.lock_table}"
    return _document(
        _statement("MostAStackRoleMayDo", BOUNDARY_ACTIONS, "*"),
        _statement(
            "OnlyTheDatabaseSecret", SECRET_READS,
            [f"arn:aws:secretsmanager:{config.region}:{config.account_id}:secret:rds!cluster-*"],
        ),
        _statement(
            "DecryptOnlyThroughSecretsManager", SECRET_DECRYPT,
            [f"arn:aws:kms:{config.region}:{config.account_id}:key/*"],
            condition=through_secrets_manager,
        ),
        _statement(
            "ImportOnlyIntoStackRepositories", CACHE_IMPORTS,
            [f"arn:aws:ecr:{config.region}:{config.account_id}:repository/fraud-*"],
        ),
        _statement(
            "PassOnlyStackRolesToEcsTasks", ["iam:PassRole"],
            [f"arn:aws:iam::{config.account_id}:role/fraud-*"],
            condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        _statement(
            "NeverTheStateBackend", ["s3:GetObject", "s3:PutObject", "dynamodb:PutItem"],
            [bucket, f"{bucket}/*", table], effect="Deny",
        ),
    )  # fmt: skip
