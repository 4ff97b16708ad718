"""`FraudDetectionStack`: one environment of the fraud-detection platform, from constructs."""

from __future__ import annotations

from cdktf import S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderDefaultTags,
    AwsProviderEndpoints,
)
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.naming import Naming
from infra.network import Network, NetworkProps

REQUIRED_TERRAFORM = ">= 1.11, < 2.0"

EMULATED_SERVICES: tuple[str, ...] = (
    "acm", "apigateway", "appautoscaling", "cloudwatch", "dynamodb", "ec2", "ecr", "ecs", "elbv2",
    "iam", "kms", "logs", "rds", "s3", "secretsmanager", "sns", "sts", "wafv2", "xray",
)  # fmt: skip
"""Services whose endpoint points at the emulator in the `local` environment."""


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

        self.network = Network(
            self,
            "network",
            NetworkProps(
                naming=naming,
                vpc_cidr=config.network.vpc_cidr,
                az_count=config.network.az_count,
                nat_gateway_per_az=config.network.nat_gateway_per_az,
            ),
        )

        TerraformOutput(self, "vpc_id", value=self.network.vpc.id, description="ID of the VPC.")

    def _configure_state_backend(self, config: EnvironmentConfig) -> None:
        state = config.state
        emulator = config.emulator
        S3Backend(
            self,
            bucket=state.bucket,
            key=state.key,
            region=state.region,
            dynamodb_table=state.lock_table,
            encrypt=True,
            **(
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
            ),
        )

    def _configure_provider(self, config: EnvironmentConfig) -> None:
        emulator = config.emulator
        AwsProvider(
            self,
            "aws",
            region=config.region,
            allowed_account_ids=[config.account_id],
            default_tags=[AwsProviderDefaultTags(tags=config.all_tags())],
            **(
                {
                    "endpoints": [
                        AwsProviderEndpoints(**dict.fromkeys(EMULATED_SERVICES, emulator.endpoint))
                    ],
                    "s3_use_path_style": True,
                    "skip_credentials_validation": True,
                    "skip_requesting_account_id": True,
                    "skip_metadata_api_check": "true",
                    "skip_region_validation": True,
                }
                if emulator
                else {}
            ),
        )
