"""`gitops bootstrap ENV`: the Terraform state backend of an environment, idempotently.

With `--github-repository OWNER/NAME` it also creates GitHub's OIDC identity provider and the
plan and apply roles the workflows assume (gitops.bootstrap.github_oidc).

The same code serves a real AWS account and the emulator (boto3 with or without an endpoint):
- the state bucket: versioned, SSE-KMS with its own rotating key, public access blocked,
  TLS-only, noncurrent versions expired;
- the DynamoDB lock table: encrypted, point-in-time recovery on.
For an emulated environment it also imports a self-signed certificate for the load balancer's
domain into the emulator's ACM, standing in for the certificate a real account already has.
Each step reads before it writes, so a second run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from gitops.emulator.certificates import self_signed
from gitops.errors import GitopsError
from infra.config import EnvironmentConfig
from infra.policy_document import deny_insecure_transport, document

NONCURRENT_STATE_VERSIONS_DAYS = 90
STATE_KEY_ALIAS = "alias/fraud-detection-tfstate"


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    role_arns: dict[str, str] = field(default_factory=dict)
    """plan_role / apply_role ARNs, when the GitHub OIDC roles were bootstrapped."""

    def record(self, what: str, changed: bool) -> None:
        (self.created if changed else self.unchanged).append(what)


def clients(config: EnvironmentConfig, region: str | None = None) -> Callable[[str], Any]:
    """boto3 client factory for the environment's state region, or `region` (and emulator)."""
    endpoint = config.emulator.endpoint if config.emulator else None
    credentials, verify = {}, None
    if config.emulator is not None:
        from gitops.emulator.server import EMULATOR_CREDENTIALS, ca_bundle

        credentials = {
            "aws_access_key_id": EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
        verify = str(ca_bundle())
    session = boto3.session.Session(region_name=region or config.state.region, **credentials)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint, verify=verify)

    return client


def _error_code(error: ClientError) -> str:
    code: str = error.response.get("Error", {}).get("Code", "")
    return code


STATE_KEY_TAG = "gitops:state-key"
"""Tags the key with its alias, so a run that created the key but failed before the alias
finds that key again instead of creating another."""


def ensure_state_key(kms: Any, report: BootstrapReport, alias: str = STATE_KEY_ALIAS) -> str:
    try:
        key_id: str = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        report.record(f"kms key {alias}", changed=False)
        return key_id
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise
    key = _tagged_key(kms, alias)
    if key is None:
        key = kms.create_key(
            Description="Terraform state of the fraud-detection stacks",
            Tags=[{"TagKey": STATE_KEY_TAG, "TagValue": alias}],
        )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    report.record(f"kms key {alias}", changed=True)
    arn: str = key["Arn"]
    return arn


def _tagged_key(kms: Any, alias: str) -> dict[str, Any] | None:
    """An enabled key an earlier, interrupted run created for `alias` (None when there is none)."""
    for page in kms.get_paginator("list_keys").paginate():
        for listed in page["Keys"]:
            try:
                tags = kms.list_resource_tags(KeyId=listed["KeyId"])["Tags"]
                metadata = kms.describe_key(KeyId=listed["KeyId"])["KeyMetadata"]
            except ClientError:
                continue  # a key this identity may not read is not one it created
            if (
                metadata.get("KeyState") == "Enabled"
                and {
                    "TagKey": STATE_KEY_TAG,
                    "TagValue": alias,
                }
                in tags
            ):
                found: dict[str, Any] = metadata
                return found
    return None


def ensure_state_bucket(
    s3: Any, bucket: str, region: str, key_arn: str, report: BootstrapReport
) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        exists = True
    except ClientError as error:
        if _error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise GitopsError(
                f"state bucket {bucket}: {_error_code(error)} (owned by another account?)"
            ) from None
        exists = False
    if not exists:
        location = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **location)
    report.record(f"s3 bucket {bucket}", changed=not exists)

    encryption = {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": key_arn,
                },
                "BucketKeyEnabled": True,
            }
        ]
    }
    blocked = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    policy = document(deny_insecure_transport(f"arn:aws:s3:::{bucket}"))
    lifecycle = [
        {
            "ID": "expire-old-state-versions",
            "Status": "Enabled",
            "Filter": {},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_STATE_VERSIONS_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    # (read the current setting, the wanted one, write it): each is written only when it differs.
    settings: tuple[tuple[Callable[[], Any], object, Callable[[], object]], ...] = (
        (
            lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status"),
            "Enabled",
            lambda: s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        ),
        (
            lambda: s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            encryption,
            lambda: s3.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=encryption
            ),
        ),
        (
            lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            blocked,
            lambda: s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=blocked
            ),
        ),
        (
            lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
            json.loads(policy),
            lambda: s3.put_bucket_policy(Bucket=bucket, Policy=policy),
        ),
        (
            lambda: [
                r.get("ID") for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            ],
            [rule["ID"] for rule in lifecycle],
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": lifecycle}
            ),
        ),
    )
    settings_changed = False
    for read, wanted, write in settings:
        if _current(read) != wanted:
            write()
            settings_changed = True
    report.record(f"s3 bucket {bucket} settings", changed=settings_changed)


def _current(read: Callable[[], Any]) -> Any:
    """A bucket setting, or None when it was never set."""
    try:
        return read()
    except ClientError:
        return None


def ensure_lock_table(dynamodb: Any, table: str, report: BootstrapReport) -> None:
    try:
        dynamodb.describe_table(TableName=table)
        exists = True
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        exists = False
    if not exists:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
            DeletionProtectionEnabled=True,
        )
        dynamodb.get_waiter("table_exists").wait(TableName=table)
    report.record(f"dynamodb table {table}", changed=not exists)
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    recovery = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if recovery != "ENABLED":
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    report.record(f"dynamodb table {table} point-in-time recovery", changed=recovery != "ENABLED")


def ensure_emulator_certificate(acm: Any, domain: str, report: BootstrapReport) -> None:
    """A self-signed certificate for the domain, in the emulator only (never in AWS)."""
    existing = acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    if any(summary["DomainName"] == domain for summary in existing):
        report.record(f"acm certificate {domain} (self-signed, emulator)", changed=False)
        return
    certificate, private_key = self_signed(domain)
    acm.import_certificate(Certificate=certificate, PrivateKey=private_key)
    report.record(f"acm certificate {domain} (self-signed, emulator)", changed=True)


def bootstrap(config: EnvironmentConfig, roles: dict[str, Any] | None = None) -> BootstrapReport:
    """State backend of `config`; with `roles` (gitops.bootstrap.roles.roles_document), also
    GitHub's OIDC provider, the permissions boundary and the pipeline roles."""
    client = clients(config)
    report = BootstrapReport()
    try:
        key_arn = ensure_state_key(client("kms"), report)
        ensure_state_bucket(client("s3"), config.state.bucket, config.state.region, key_arn, report)
        ensure_lock_table(client("dynamodb"), config.state.lock_table, report)
        if roles is not None:
            from gitops.bootstrap.github_oidc import ensure_roles

            for name, (arn, changed) in ensure_roles(client, config, roles).items():
                report.record(f"iam {name} {arn}", changed=changed)
                if name.endswith("_role"):
                    report.role_arns[name] = arn
        if config.emulator is not None:  # where the stack looks it up: its own region
            acm = clients(config, config.region)("acm")
            ensure_emulator_certificate(acm, config.load_balancer.domain_name, report)
    except ClientError as error:
        operation = error.operation_name
        raise GitopsError(
            f"bootstrap of {config.name} failed in {operation}: {_error_code(error)}"
        ) from None
    return report
