"""A private, encrypted, versioned, TLS-only S3 bucket whose objects expire: for logs.

Object-level events are published to EventBridge for whoever audits the logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from infra.policy_document import deny_insecure_transport, document

ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7


@dataclass(frozen=True)
class LogBucketProps:
    bucket_name: str
    """Globally unique; callers include the account id and environment."""
    expiry_days: int
    """Objects (and their noncurrent versions) are deleted this many days after creation."""
    kms_key_arn: str | None = None
    """Left out, objects are encrypted with S3-managed keys (SSE-S3): ALB access logs need that."""
    writer_statements: Sequence[dict[str, Any]] = field(default_factory=tuple)
    """Bucket-policy statements for the service that writes the logs; TLS-only is always added."""
    force_destroy: bool = False
    """Left out, Terraform refuses to delete a bucket that still holds logs."""

    def __post_init__(self) -> None:
        if self.expiry_days < 1:
            raise ValueError(f"LogBucketProps.expiry_days {self.expiry_days}: must be >= 1")


class LogBucket(Construct):
    def __init__(self, scope: Construct, id: str, props: LogBucketProps) -> None:
        super().__init__(scope, id)
        self.bucket = S3Bucket(
            self, "bucket", bucket=props.bucket_name, force_destroy=props.force_destroy
        )
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        default_encryption = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=props.kms_key_arn
            )
            if props.kms_key_arn
            else S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=default_encryption,
                    bucket_key_enabled=bool(props.kms_key_arn),
                )
            ],
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-logs",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],  # every object
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(days=props.expiry_days)
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=props.expiry_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS
                        )
                    ],
                )
            ],
        )
        # Object events go to EventBridge, where a SIEM or an audit rule can subscribe.
        S3BucketNotification(self, "events", bucket=bucket_id, eventbridge=True)
        self.policy = S3BucketPolicy(
            self,
            "policy",
            bucket=bucket_id,
            policy=document(*props.writer_statements, deny_insecure_transport(self.bucket.arn)),
        )
