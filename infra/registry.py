"""ECR repository for the API image: immutable tags, scanned on push, KMS-encrypted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from constructs import Construct

from infra.naming import Naming


@dataclass(frozen=True)
class RegistryProps:
    naming: Naming
    kms_key_arn: str
    keep_untagged_days: int = 14
    """Left out, untagged images (superseded builds) are removed after two weeks."""


class Registry(Construct):
    def __init__(self, scope: Construct, id: str, props: RegistryProps) -> None:
        super().__init__(scope, id)
        self.repository = EcrRepository(
            self,
            "api",
            name=props.naming.name("api"),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[
                EcrRepositoryEncryptionConfiguration(
                    encryption_type="KMS", kms_key=props.kms_key_arn
                )
            ],
            tags=props.naming.tags("api"),
        )
        EcrLifecyclePolicy(
            self,
            "lifecycle",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "Expire untagged images",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": props.keep_untagged_days,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
        )

    def image(self, digest: str) -> str:
        """`<repository url>@<digest>`: what the task runs, identical bytes in every environment."""
        return f"{self.repository.repository_url}@{digest}"
