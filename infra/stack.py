"""`FraudDetectionStack`: one environment of the fraud-detection platform, from constructs."""

from __future__ import annotations

from typing import Any, TypedDict

from cdktf import Aspects, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderDefaultTags,
    AwsProviderEndpoints,
)
from constructs import Construct

from infra.api import Api, ApiProps
from infra.blue_green import BlueGreen, BlueGreenProps
from infra.boundary import PermissionsBoundary, boundary_arn
from infra.config import EnvironmentConfig
from infra.database import Database, DatabaseProps
from infra.encryption import EncryptionKeys, EncryptionProps
from infra.flow_logs import FlowLogs, FlowLogsProps
from infra.load_balancer import LoadBalancer, LoadBalancerProps
from infra.monitoring import Monitoring, MonitoringProps
from infra.naming import Naming
from infra.network import Network, NetworkProps
from infra.origin_verification import OriginVerification, OriginVerificationProps
from infra.registry import Registry, RegistryProps
from infra.security_groups import SecurityGroups, SecurityGroupsProps
from infra.service import FargateService, ServiceProps
from infra.service_endpoints import ServiceEndpoints, ServiceEndpointsProps
from infra.tracing import Tracing, TracingProps
from infra.waf import OriginCheck, Waf, WafProps

REQUIRED_TERRAFORM = ">= 1.11, < 2.0"

EMULATED_SERVICES: tuple[str, ...] = (
    "acm", "apigateway", "appautoscaling", "cloudwatch", "codedeploy", "dynamodb", "ec2", "ecr",
    "ecs", "elbv2", "iam", "kms", "logs", "rds", "s3", "secretsmanager", "sns", "sts", "wafv2",
    "xray",
)  # fmt: skip
"""Services whose endpoint points at the emulator in the `local` environment."""


class _EmulatorBackendArgs(TypedDict, total=False):
    """The `S3Backend` arguments that point the state backend at the emulator."""

    endpoints: dict[str, Any]
    use_path_style: bool
    skip_credentials_validation: bool
    skip_requesting_account_id: bool
    skip_metadata_api_check: bool
    skip_region_validation: bool


class _EmulatorProviderArgs(TypedDict, total=False):
    """The `AwsProvider` arguments that point the provider at the emulator."""

    endpoints: list[AwsProviderEndpoints]
    s3_use_path_style: bool
    skip_metadata_api_check: str


class FraudDetectionStack(TerraformStack):
    """The whole platform for one environment, named `fraud-detection-<env>`.

    Every value comes from the environment's `EnvironmentConfig`; the stack only wires constructs.
    """

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.stack_name)
        self.config = config
        naming = Naming(config.name)
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM)
        self._configure_state_backend(config)
        self._configure_provider(config)

        region, account_id = config.region, config.account_id
        Aspects.of(self).add(PermissionsBoundary(boundary_arn(naming, account_id)))

        keys = EncryptionKeys(
            self, "keys", EncryptionProps(naming=naming, account_id=account_id, region=region)
        )
        self.network = Network(
            self,
            "network",
            NetworkProps(
                naming=naming,
                region=region,
                vpc_cidr=config.network.vpc_cidr,
                az_count=config.network.az_count,
                nat_gateway_per_az=config.network.nat_gateway_per_az,
            ),
        )
        FlowLogs(
            self,
            "flow-logs",
            FlowLogsProps(
                naming=naming,
                account_id=account_id,
                region=region,
                vpc_id=self.network.vpc.id,
                kms_key_arn=keys.telemetry.arn,
                expiry_days=config.network.flow_log_expiry_days,
            ),
        )
        groups = SecurityGroups(
            self,
            "security-groups",
            SecurityGroupsProps(
                naming=naming,
                vpc_id=self.network.vpc.id,
                container_port=config.service.container_port,
            ),
        )
        registry = Registry(
            self,
            "registry",
            RegistryProps(
                naming=naming,
                kms_key_arn=keys.data.arn,
                sidecar_image=config.service.xray_daemon_image,
            ),
        )
        endpoints = ServiceEndpoints(
            self,
            "endpoints",
            ServiceEndpointsProps(
                naming=naming,
                account_id=account_id,
                region=region,
                vpc_id=self.network.vpc.id,
                subnet_ids=self.network.private_subnet_ids,
                route_table_ids=[table.id for table in self.network.private_route_tables],
                security_group_id=groups.endpoints.id,
                tasks_security_group_id=groups.service.id,
            ),
        )
        database = Database(
            self,
            "database",
            DatabaseProps(
                naming=naming,
                subnet_ids=self.network.private_subnet_ids,
                security_group_id=groups.database.id,
                kms_key_arn=keys.data.arn,
                account_id=account_id,
                engine_version=config.database.engine_version,
                min_capacity_acu=config.database.min_capacity_acu,
                max_capacity_acu=config.database.max_capacity_acu,
                backup_retention_days=config.database.backup_retention_days,
                secret_rotation_days=config.database.secret_rotation_days,
                deletion_protection=config.database.deletion_protection,
            ),
        )
        load_balancer = LoadBalancer(
            self,
            "load-balancer",
            LoadBalancerProps(
                naming=naming,
                account_id=account_id,
                vpc_id=self.network.vpc.id,
                subnet_ids=self.network.public_subnet_ids,
                security_group_id=groups.load_balancer.id,
                domain_name=config.load_balancer.domain_name,
                target_port=config.service.container_port,
                health_check_path=config.service.health_check_path,
                access_log_expiry_days=config.network.flow_log_expiry_days,
                deletion_protection=config.load_balancer.deletion_protection,
            ),
        )
        service = FargateService(
            self,
            "service",
            ServiceProps(
                naming=naming,
                account_id=account_id,
                region=region,
                image=registry.image(config.release.image_digest),
                repository_arn=registry.repository.arn,
                xray_daemon_image=registry.sidecar_image,
                xray_repository_arn=registry.sidecar_repository.arn,
                subnet_ids=self.network.private_subnet_ids,
                security_group_id=groups.service.id,
                target_group_arn=load_balancer.active_target_group.arn,
                secret_arn=database.secret_arn,
                secret_kms_key_arn=keys.data.arn,
                logs_kms_key_arn=keys.telemetry.arn,
                cpu=config.service.cpu,
                memory_mib=config.service.memory_mib,
                container_port=config.service.container_port,
                health_check_path=config.service.health_check_path,
                min_tasks=config.service.min_tasks,
                max_tasks=config.service.max_tasks,
                cpu_target_percent=config.service.cpu_target_percent,
                log_retention_days=config.logs.retention_days,
                environment={
                    "ENVIRONMENT": config.name,
                    "APP_VERSION": config.release.app_version,
                    "LOG_LEVEL": config.release.log_level,
                },
                # Tasks start once their listener and their ways to the AWS APIs exist.
                depends_on=[load_balancer.https_listener, *endpoints.dependables],
            ),
        )
        origin = OriginVerification(
            self,
            "origin-verification",
            OriginVerificationProps(rotation_days=config.load_balancer.origin_secret_rotation_days),
        )
        # The load balancer's own ACL: API Gateway's origin header or an operator network.
        alb_waf = Waf(
            self,
            "alb-waf",
            WafProps(
                name=naming.name("alb", "waf"),
                log_name=naming.name("alb"),
                rate_limit_per_5_minutes=config.waf.rate_limit_per_5_minutes,
                blocked_countries=config.waf.blocked_countries,
                protected_resource_arns=(load_balancer.load_balancer.arn,),
                logs_kms_key_arn=keys.telemetry.arn,
                log_retention_days=config.logs.retention_days,
                origin_check=OriginCheck(
                    header_name=origin.header_name,
                    accepted_values=origin.accepted_values,
                    operator_cidrs=config.load_balancer.operator_cidrs,
                ),
            ),
        )
        api = Api(
            self,
            "api",
            ApiProps(
                naming=naming,
                backend_domain=config.load_balancer.domain_name,
                stage_name=config.api.stage_name,
                rate_limit_rps=config.api.rate_limit_rps,
                burst_limit=config.api.burst_limit,
                daily_quota=config.api.daily_quota,
                logs_kms_key_arn=keys.telemetry.arn,
                log_retention_days=config.logs.retention_days,
                origin_header=(origin.header_name, origin.current_value),
                integrations_depend_on=(alb_waf.web_acl,),
            ),
        )
        Waf(
            self,
            "waf",
            WafProps(
                name=naming.name("waf"),
                log_name=naming.name("api"),
                rate_limit_per_5_minutes=config.waf.rate_limit_per_5_minutes,
                blocked_countries=config.waf.blocked_countries,
                protected_resource_arns=(api.stage.arn,),
                logs_kms_key_arn=keys.telemetry.arn,
                log_retention_days=config.logs.retention_days,
            ),
        )
        Tracing(
            self,
            "tracing",
            TracingProps(
                naming=naming,
                service_name=service.service.name,
                sampling_rate=config.service.trace_sampling_rate,
            ),
        )
        monitoring = Monitoring(
            self,
            "monitoring",
            MonitoringProps(
                naming=naming,
                region=region,
                kms_key_arn=keys.telemetry.arn,
                api_name=api.rest_api.name,
                api_stage=api.stage.stage_name,
                load_balancer_arn_suffix=load_balancer.load_balancer.arn_suffix,
                target_group_arn_suffixes=(
                    load_balancer.target_groups["blue"].arn_suffix,
                    load_balancer.target_groups["green"].arn_suffix,
                ),
                cluster_name=service.cluster.name,
                service_name=service.service.name,
                db_cluster_identifier=database.cluster.cluster_identifier,
                api_latency_ms=config.alarms.api_latency_ms,
                min_healthy_tasks=config.alarms.min_healthy_tasks,
                max_db_connections=config.alarms.max_db_connections,
                max_target_5xx_per_minute=config.alarms.max_target_5xx_per_minute,
                notification_email=config.alarms.notification_email,
            ),
        )
        blue_green = config.blue_green
        BlueGreen(
            self,
            "blue-green",
            BlueGreenProps(
                naming=naming,
                account_id=account_id,
                region=region,
                service=service.service,
                cluster_name=service.cluster.name,
                task_definition=service.task_definition,
                passed_role_arns=(service.roles.execution.arn, service.roles.task.arn),
                load_balancer_arn=load_balancer.load_balancer.arn,
                alb_security_group_id=groups.load_balancer.id,
                production_listener=load_balancer.https_listener,
                certificate_arn=load_balancer.certificate.arn,
                blue_target_group_name=naming.name("tg", "blue"),
                green_target_group_name=naming.name("tg", "green"),
                target_group_arns=(
                    load_balancer.target_groups["blue"].arn,
                    load_balancer.target_groups["green"].arn,
                ),
                deployment_config=blue_green.deployment_config,
                rollback_alarm_names=tuple(
                    monitoring.alarms[key].alarm_name
                    for key in ("api-latency", "healthy-tasks", "target-5xx")
                ),
                test_listener_port=blue_green.test_listener.port,
                test_listener_cidrs=blue_green.test_listener.allowed_cidrs,
                ready_wait_minutes=blue_green.ready_wait_minutes,
                termination_wait_minutes=blue_green.termination_wait_minutes,
            ),
        )

        outputs = {
            "alb_dns_name": (
                load_balancer.load_balancer.dns_name,
                "DNS name of the load balancer.",
            ),
            "api_endpoint": (api.invoke_url, "Invoke URL of the API stage; POST <url>/api/detect."),
            "dashboard_url": (monitoring.dashboard_url, "CloudWatch dashboard of the API."),
            "vpc_id": (self.network.vpc.id, "ID of the VPC."),
            "ecs_cluster_name": (service.cluster.name, "Name of the ECS cluster running the API."),
            "aurora_endpoint": (
                database.cluster.endpoint,
                "Writer endpoint of the Aurora cluster.",
            ),
        }
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description)

    def _configure_state_backend(self, config: EnvironmentConfig) -> None:
        state = config.state
        emulator = config.emulator
        emulated: _EmulatorBackendArgs = (
            {
                "endpoints": {"s3": emulator.endpoint, "dynamodb": emulator.endpoint},
                "use_path_style": True,
                "skip_credentials_validation": True,
                "skip_requesting_account_id": True,
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
            }
            if emulator
            else {}
        )
        S3Backend(
            self,
            bucket=state.bucket,
            key=state.key,
            region=state.region,
            dynamodb_table=state.lock_table,
            encrypt=True,
            **emulated,
        )

    def _configure_provider(self, config: EnvironmentConfig) -> None:
        emulator = config.emulator
        emulated: _EmulatorProviderArgs = (
            {
                "endpoints": [
                    AwsProviderEndpoints(**dict.fromkeys(EMULATED_SERVICES, emulator.endpoint))
                ],
                # Credentials and the account id are still checked (through the
                # emulator's STS), so allowed_account_ids guards local runs too.
                "s3_use_path_style": True,
                "skip_metadata_api_check": "true",
            }
            if emulator
            else {}
        )
        AwsProvider(
            self,
            "aws",
            region=config.region,
            allowed_account_ids=[config.account_id],
            default_tags=[AwsProviderDefaultTags(tags=config.all_tags())],
            **emulated,
        )
