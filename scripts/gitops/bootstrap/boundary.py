"""`fraud-boundary-<env>`: the permissions boundary every role of a stack carries, the most any
of them may ever do (the apply role may only create roles that carry it)."""

from __future__ import annotations

from typing import Any

from infra.config import EnvironmentConfig
from infra.naming import Naming

ON_ANY_RESOURCE = (
    # authorizing to the registry, and X-Ray: AWS has no resource-level form for them
    "ecr:GetAuthorizationToken",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries",
    # CodeDeploy reads the load balancer: Describe* has no resource-level form
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    # API Gateway's logging role lists log groups: no resource-level form either
    "logs:DescribeLogGroups",
)  # fmt: skip
LOG_WRITES = (
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents",
)  # fmt: skip
"""Only into this environment's two groups (the tasks', the API's access logs) and the groups
AWS names itself: API Gateway's execution logs of this stage
(`API-Gateway-Execution-Logs_<api id>/<stage>`, the id unknown before the API exists), its
`/aws/apigateway/welcome`, and RDS enhanced monitoring's `RDSOSMetrics` (API Gateway's managed
policy grants them on `*`, RDS's on `RDS*`). Never another environment's groups, the WAF's, or
any other audit trail of the account (PCI DSS 10.3: logs protected from modification)."""
LOG_RETENTION = ("logs:PutRetentionPolicy",)
"""RDS enhanced monitoring sets its own group's retention; nothing else may shorten a log's
life (PCI DSS 10.5.1), the stack's own groups included: Terraform sets theirs."""
MONITORING_LOG_GROUP = "RDSOSMetrics"
IMAGE_PULLS = (
    "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
)  # fmt: skip
"""ECS task execution: the API image and the X-Ray daemon (imported through the pull-through
cache on its first pull), only from this environment's two repositories."""
SERVICE_SHIFTS = (
    "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeServices",
    "ecs:UpdateServicePrimaryTaskSet",
)  # fmt: skip
"""CodeDeploy's blue/green role: task sets of this environment's cluster only."""
LISTENER_SHIFTS = ("elasticloadbalancing:ModifyListener",)
"""CodeDeploy's blue/green role: listeners of this environment's load balancer only."""
ALARM_READS = ("cloudwatch:DescribeAlarms",)
"""CodeDeploy's blue/green role: this environment's rollback alarms only."""
BOUNDARY_ACTIONS = (
    *ON_ANY_RESOURCE,
    *LOG_WRITES,
    *LOG_RETENTION,
    *IMAGE_PULLS,
    *SERVICE_SHIFTS,
    *LISTENER_SHIFTS,
    *ALARM_READS,
)
"""The most a role of the stack may do, each group on the resources its statement names: what
its own policies and the AWS managed policies it attaches grant (a test checks both against
this list and SECRET_ACTIONS)."""
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
    arn = f"{config.region}:{config.account_id}"
    naming = Naming(config.name)
    cluster = naming.name("cluster")
    repositories = [
        f"arn:aws:ecr:{arn}:repository/{naming.name('api')}",
        f"arn:aws:ecr:{arn}:repository/{naming.ecr_cache_prefix()}/*",
    ]
    task_roles = [
        f"arn:aws:iam::{config.account_id}:role/{naming.name('api', part)}"
        for part in ("execution", "task")
    ]
    log_groups = [
        f"arn:aws:logs:{arn}:log-group:{group}{stream}"
        for group in (naming.service_log_group(), naming.api_access_log_group(),
                      f"API-Gateway-Execution-Logs_*/{config.api.stage_name}",
                      "/aws/apigateway/welcome", MONITORING_LOG_GROUP)
        for stream in ("", ":*")
    ]  # fmt: skip
    monitoring_log_group = f"arn:aws:logs:{arn}:log-group:{MONITORING_LOG_GROUP}"
    return _document(
        _statement("NoResourceLevelFormInAws", ON_ANY_RESOURCE, "*"),
        _statement("WriteOnlyThisEnvironmentsLogs", LOG_WRITES, log_groups),
        _statement("RetainOnlyTheMonitoringLogs", LOG_RETENTION,
                   [monitoring_log_group, f"{monitoring_log_group}:*"]),
        _statement("PullOnlyThisEnvironmentsImages", IMAGE_PULLS, repositories),
        _statement("ShiftOnlyThisEnvironmentsService", SERVICE_SHIFTS, [
            f"arn:aws:ecs:{arn}:service/{cluster}/*", f"arn:aws:ecs:{arn}:task-set/{cluster}/*",
        ]),
        _statement("MoveOnlyThisEnvironmentsListeners", LISTENER_SHIFTS,
                   [f"arn:aws:elasticloadbalancing:{arn}:listener/app/{naming.load_balancer()}/*"]),
        _statement("ReadOnlyThisEnvironmentsAlarms", ALARM_READS,
                   [f"arn:aws:cloudwatch:{arn}:alarm:fraud-*-{config.name}"]),
        _statement(
            "OnlyTheDatabaseSecret", SECRET_READS,
            [f"arn:aws:secretsmanager:{arn}:secret:rds!cluster-*"],
        ),
        _statement(
            "DecryptOnlyThroughSecretsManager", SECRET_DECRYPT,
            [f"arn:aws:kms:{arn}:key/*"],
            condition=through_secrets_manager,
        ),
        _statement(
            "PassOnlyThisEnvironmentsTaskRolesToEcs", ["iam:PassRole"], task_roles,
            condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        _statement(
            "NeverTheStateBackend", ["s3:GetObject", "s3:PutObject", "dynamodb:PutItem"],
            [bucket, f"{bucket}/*", table], effect="Deny",
        ),
    )  # fmt: skip
