"""The API on ECS Fargate: cluster, log group, task definition with an X-Ray sidecar, service
in private subnets behind the blue target group, and CPU target-tracking auto-scaling."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition, EcsTaskDefinitionVolume
from constructs import Construct

from infra.naming import Naming
from infra.task_roles import TaskRoles, TaskRolesProps

API_CONTAINER = "api"
XRAY_CONTAINER = "xray-daemon"
XRAY_PORT = 2000
XRAY_RESERVED_CPU = 32
XRAY_RESERVED_MEMORY_MIB = 256
NON_ROOT_USER = "10001"
XRAY_USER = "1337"
SCALE_IN_COOLDOWN_SECONDS = 300
SCALE_OUT_COOLDOWN_SECONDS = 60
HEALTH_CHECK_GRACE_SECONDS = 60


@dataclass(frozen=True)
class ServiceProps:
    naming: Naming
    account_id: str
    region: str
    image: str
    """`repository@sha256:...`: the release's digest in this environment's repository."""
    repository_arn: str
    xray_daemon_image: str
    """The daemon through this registry's pull-through cache (infra/registry.py)."""
    xray_repository_arn: str
    """The cache repository the daemon is pulled (and on first pull, imported) into."""
    subnet_ids: Sequence[str]
    """Private subnets; tasks never get a public IP."""
    security_group_id: str
    target_group_arn: str
    """The active (blue) target group the service registers with."""
    secret_arn: str
    secret_kms_key_arn: str
    logs_kms_key_arn: str
    cpu: int
    memory_mib: int
    container_port: int
    health_check_path: str
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    log_retention_days: int
    environment: dict[str, str] = field(default_factory=dict)
    """Extra plain (non-secret) environment variables of the API container."""
    depends_on: Sequence[ITerraformDependable] = ()
    """Resources that must exist first: the listener that attaches the target group."""

    def __post_init__(self) -> None:
        if self.min_tasks > self.max_tasks:
            raise ValueError(
                f"ServiceProps.min_tasks {self.min_tasks} exceeds max_tasks {self.max_tasks}"
            )
        if self.memory_mib < XRAY_RESERVED_MEMORY_MIB * 2:
            raise ValueError(
                f"ServiceProps.memory_mib {self.memory_mib}: leave room for the X-Ray sidecar "
                f"({XRAY_RESERVED_MEMORY_MIB} MiB); use at least {XRAY_RESERVED_MEMORY_MIB * 2}"
            )


class FargateService(Construct):
    def __init__(self, scope: Construct, id: str, props: ServiceProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        service_name = naming.name("api")

        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=naming.service_log_group(),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_kms_key_arn,
            tags=naming.tags("api", "logs"),
        )
        self.cluster = EcsCluster(
            self,
            "cluster",
            name=naming.name("cluster"),
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
            tags=naming.tags("cluster"),
        )
        self.roles = roles = TaskRoles(
            self,
            "roles",
            TaskRolesProps(
                naming=naming,
                account_id=props.account_id,
                region=props.region,
                repository_arn=props.repository_arn,
                sidecar_repository_arn=props.xray_repository_arn,
                log_group_arn=self.log_group.arn,
                secret_arn=props.secret_arn,
                secret_kms_key_arn=props.secret_kms_key_arn,
            ),
        )
        self.task_definition = EcsTaskDefinition(
            self,
            "task",
            family=service_name,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(props.cpu),
            memory=str(props.memory_mib),
            execution_role_arn=roles.execution.arn,
            task_role_arn=roles.task.arn,
            volume=[EcsTaskDefinitionVolume(name="tmp")],
            container_definitions=json.dumps(
                [self._api_container(props), self._xray_container(props)]
            ),
            tags=naming.tags("api", "task"),
        )
        self.service = EcsService(
            self,
            "service",
            name=service_name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=props.min_tasks,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=list(props.subnet_ids),
                security_groups=[props.security_group_id],
                assign_public_ip=False,
            ),
            load_balancer=[
                EcsServiceLoadBalancer(
                    target_group_arn=props.target_group_arn,
                    container_name=API_CONTAINER,
                    container_port=props.container_port,
                )
            ],
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # Auto-scaling owns the running count once the service exists.
            lifecycle={"ignore_changes": ["desired_count"]},
            depends_on=list(props.depends_on),
            tags=naming.tags("api"),
        )
        scaling = AppautoscalingTarget(
            self,
            "scaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{self.cluster.name}/{self.service.name}",
            min_capacity=props.min_tasks,
            max_capacity=props.max_tasks,
        )
        AppautoscalingPolicy(
            self,
            "cpu-scaling",
            name=naming.name("api", "cpu"),
            policy_type="TargetTrackingScaling",
            service_namespace=scaling.service_namespace,
            scalable_dimension=scaling.scalable_dimension,
            resource_id=scaling.resource_id,
            target_tracking_scaling_policy_configuration=(
                AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=props.cpu_target_percent,
                    scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                    scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                    predefined_metric_specification=(
                        AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                            predefined_metric_type="ECSServiceAverageCPUUtilization"
                        )
                    ),
                )
            ),
        )

    def _log_configuration(self, props: ServiceProps, prefix: str) -> dict[str, Any]:
        return {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": self.log_group.name,
                "awslogs-region": props.region,
                "awslogs-stream-prefix": prefix,
            },
        }

    def _api_container(self, props: ServiceProps) -> dict[str, Any]:
        environment = {
            **props.environment,
            "DB_SECRET_ARN": props.secret_arn,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{XRAY_PORT}",
            "PORT": str(props.container_port),
        }
        return {
            "name": API_CONTAINER,
            "image": props.image,
            "essential": True,
            "user": NON_ROOT_USER,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "portMappings": [{"containerPort": props.container_port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
            "healthCheck": {
                "command": [
                    "CMD-SHELL",
                    f"wget -q -O /dev/null http://127.0.0.1:{props.container_port}"
                    f"{props.health_check_path} || exit 1",
                ],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 30,
            },
            "logConfiguration": self._log_configuration(props, API_CONTAINER),
            "dependsOn": [{"containerName": XRAY_CONTAINER, "condition": "START"}],
        }

    def _xray_container(self, props: ServiceProps) -> dict[str, Any]:
        return {
            "name": XRAY_CONTAINER,
            "image": props.xray_daemon_image,
            "essential": False,
            "user": XRAY_USER,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "cpu": XRAY_RESERVED_CPU,
            "memoryReservation": XRAY_RESERVED_MEMORY_MIB,
            "portMappings": [{"containerPort": XRAY_PORT, "protocol": "udp"}],
            "logConfiguration": self._log_configuration(props, XRAY_CONTAINER),
        }
