"""Aurora Serverless v2 PostgreSQL in private subnets; RDS owns and rotates the password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.rds_cluster import (
    RdsCluster,
    RdsClusterServerlessv2ScalingConfiguration,
)
from cdktf_cdktf_provider_aws.rds_cluster_instance import RdsClusterInstance
from cdktf_cdktf_provider_aws.rds_cluster_parameter_group import (
    RdsClusterParameterGroup,
    RdsClusterParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret_rotation import (
    SecretsmanagerSecretRotation,
    SecretsmanagerSecretRotationRotationRules,
)
from constructs import Construct

from infra.naming import Naming
from infra.service_role import service_role

ENGINE = "aurora-postgresql"
MONITORING_INTERVAL_SECONDS = 60
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


@dataclass(frozen=True)
class DatabaseProps:
    naming: Naming
    subnet_ids: Sequence[str]
    """Private subnets only; the cluster is never publicly accessible."""
    security_group_id: str
    kms_key_arn: str
    """Customer-managed key for storage, Performance Insights and the master secret."""
    account_id: str
    """The monitoring role trusts RDS only when it acts for this account (confused deputy)."""
    engine_version: str
    min_capacity_acu: float
    max_capacity_acu: float
    backup_retention_days: int
    secret_rotation_days: int
    deletion_protection: bool = True
    """Left out, the cluster refuses deletion (secure default); dev files turn it off."""
    database_name: str = "fraud"
    master_username: str = "fraud_admin"

    def __post_init__(self) -> None:
        if self.min_capacity_acu > self.max_capacity_acu:
            raise ValueError(
                f"DatabaseProps.min_capacity_acu {self.min_capacity_acu} exceeds max_capacity_acu "
                f"{self.max_capacity_acu}; lower the minimum or raise the maximum"
            )


class Database(Construct):
    def __init__(self, scope: Construct, id: str, props: DatabaseProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        major_version = props.engine_version.split(".")[0]

        subnets = DbSubnetGroup(
            self, "subnets", name=naming.name("db"), subnet_ids=list(props.subnet_ids),
            tags=naming.tags("db"),
        )  # fmt: skip
        parameters = RdsClusterParameterGroup(
            self,
            "parameters",
            name=naming.name("db", "pg", major_version),
            family=f"aurora-postgresql{major_version}",
            description="Audit logging and TLS-only connections",
            parameter=[
                RdsClusterParameterGroupParameter(name="rds.force_ssl", value="1"),
                RdsClusterParameterGroupParameter(name="log_statement", value="ddl"),
                RdsClusterParameterGroupParameter(name="log_connections", value="1"),
                RdsClusterParameterGroupParameter(name="log_disconnections", value="1"),
                RdsClusterParameterGroupParameter(name="log_min_duration_statement", value="1000"),
            ],
            tags=naming.tags("db", "pg"),
        )
        monitoring_role = service_role(
            self, "monitoring", naming, ("db", "monitoring"), "monitoring.rds.amazonaws.com",
            ENHANCED_MONITORING_POLICY, account_id=props.account_id,
        )  # fmt: skip

        self.cluster = RdsCluster(
            self,
            "cluster",
            cluster_identifier=naming.name("db"),
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=props.engine_version,
            database_name=props.database_name,
            master_username=props.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.kms_key_arn,
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name,
            db_cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[props.security_group_id],
            serverlessv2_scaling_configuration=RdsClusterServerlessv2ScalingConfiguration(
                min_capacity=props.min_capacity_acu, max_capacity=props.max_capacity_acu
            ),
            backup_retention_period=props.backup_retention_days,
            preferred_backup_window="02:00-03:00",
            copy_tags_to_snapshot=True,
            deletion_protection=props.deletion_protection,
            skip_final_snapshot=not props.deletion_protection,
            final_snapshot_identifier=naming.name("db", "final")
            if props.deletion_protection
            else None,
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags=naming.tags("db"),
        )
        self.instance = RdsClusterInstance(
            self,
            "writer",
            identifier=naming.name("db", "1"),
            cluster_identifier=self.cluster.id,
            engine=ENGINE,
            engine_version=props.engine_version,
            instance_class="db.serverless",
            db_subnet_group_name=subnets.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.kms_key_arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=monitoring_role.arn,
            copy_tags_to_snapshot=True,
            tags=naming.tags("db", "1"),
        )
        self.secret_arn = self.cluster.master_user_secret.get(0).secret_arn
        """ARN of the RDS-managed master secret: the one secret the API tasks may read."""
        SecretsmanagerSecretRotation(
            self,
            "secret-rotation",
            secret_id=self.secret_arn,
            rotation_rules=SecretsmanagerSecretRotationRotationRules(
                automatically_after_days=props.secret_rotation_days
            ),
        )
