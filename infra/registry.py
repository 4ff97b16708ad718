"""ECR repositories: the API image's, and a pull-through cache of the X-Ray daemon's.

Both keep tags immutable, scan on push and encrypt with the data key. The daemon comes from ECR
Public; the cache lets tasks pull it from this registry through the VPC's endpoints
(infra/service_endpoints.py), scanned and encrypted like the API's. (Its first pull is still
served from upstream over NAT: docs/stack.md.) The cache repository is made
here rather than on first pull, so it carries the same settings and is destroyed with the stack
(with the cached image), and the tasks need no `ecr:CreateRepository`. Its immutable tag keeps
the bytes first pulled. Only the API's repository expires untagged images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_pull_through_cache_rule import EcrPullThroughCacheRule
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from constructs import Construct

from infra.config import ECR_PUBLIC
from infra.naming import Naming


def public_image_parts(image: str) -> tuple[str, str]:
    """`public.ecr.aws/xray/aws-xray-daemon:3.3.14` -> (`xray/aws-xray-daemon`, `:3.3.14`)."""
    path = image.removeprefix(f"{ECR_PUBLIC}/")
    if path == image:
        raise ValueError(f"{image}: not an ECR Public image ({ECR_PUBLIC}/...)")
    cut = path.find("@") if "@" in path else path.rfind(":")
    return (path[:cut], path[cut:]) if cut > 0 else (path, "")


@dataclass(frozen=True)
class RegistryProps:
    naming: Naming
    kms_key_arn: str
    sidecar_image: str
    """The X-Ray daemon on ECR Public (`public.ecr.aws/...:tag` or `@sha256:...`)."""
    keep_untagged_days: int = 14
    """Left out, untagged images (superseded builds) are removed after two weeks."""


class Registry(Construct):
    def __init__(self, scope: Construct, id: str, props: RegistryProps) -> None:
        super().__init__(scope, id)
        naming = props.naming

        def repository(key: str, name: str, *, force_delete: bool = False) -> EcrRepository:
            return EcrRepository(
                self,
                key,
                name=name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=EcrRepositoryImageScanningConfiguration(
                    scan_on_push=True
                ),
                encryption_configuration=[
                    EcrRepositoryEncryptionConfiguration(
                        encryption_type="KMS", kms_key=props.kms_key_arn
                    )
                ],
                tags=naming.tags(key),
                force_delete=force_delete,
            )

        self.repository = repository("api", naming.name("api"))
        # One rule per prefix in a registry: the environment's name keeps two stacks that share
        # an account apart.
        cache = EcrPullThroughCacheRule(
            self,
            "ecr-public-cache",
            ecr_repository_prefix=naming.ecr_cache_prefix(),
            upstream_registry_url=ECR_PUBLIC,
        )
        path, reference = public_image_parts(props.sidecar_image)
        # Named through the rule's prefix, so the repository (and the task) come after the rule.
        # It holds only a copy of a public image, which a destroy may delete with it.
        self.sidecar_repository = repository(
            "sidecar", f"{cache.ecr_repository_prefix}/{path}", force_delete=True
        )
        self.sidecar_image = f"{self.sidecar_repository.repository_url}{reference}"
        """What the task runs: the daemon's image through this registry's cache."""
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
