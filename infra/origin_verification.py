"""The origin-verification secret: the header value API Gateway adds and the ALB's web ACL demands.

Terraform owns the rotation, so the two sides always move in one apply and in a safe order:

- the secret (KMS-encrypted) gets a new version whenever `secret_string_wo_version` changes: the
  number of whole rotation periods since the epoch, computed from `plantimestamp()`, so the first
  plan after each boundary rotates. The value comes from an ephemeral random password and is
  written write-only: it is in no plan and not in the version's state;
- Secrets Manager moves the old AWSCURRENT to AWSPREVIOUS by itself; two data sources read both
  (the previous one falls back to the current one while no AWSPREVIOUS exists yet);
- the web ACL accepts either value and is updated before API Gateway starts sending the new one
  (the API's integrations depend on the ACL), so a request in flight with the old value passes.

The values do reach the web ACL's and the integrations' state (encrypted in the state bucket):
WAF and API Gateway take them as plain arguments. Terraform marks them sensitive, so plans,
comments and logs show `(sensitive)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformLocal, TerraformStack, Token
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret_version import (
    DataAwsSecretsmanagerSecretVersion,
)
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret_versions import (
    DataAwsSecretsmanagerSecretVersions,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from infra.naming import Naming

HEADER_NAME = "x-origin-verify"
"""Lower case: WAF matches header names case-insensitively, API Gateway sends it as written."""
SECRET_LENGTH = 64
"""Characters of the value: letters and digits only, so it needs no quoting in API Gateway."""
EPHEMERAL_TYPE = "aws_secretsmanager_random_password"


def days_since_epoch(timestamp: str) -> str:
    """An HCL expression: whole days from 1970-01-01 to `timestamp` (an RFC 3339 expression).

    Terraform has no epoch function; this is the proleptic Gregorian day count (March-based
    years, so leap days fall at a year's end), built from `formatdate`.
    """
    year = f'tonumber(formatdate("YYYY", {timestamp}))'
    month = f'tonumber(formatdate("M", {timestamp}))'
    day = f'tonumber(formatdate("D", {timestamp}))'
    y = f"({year} - ({month} <= 2 ? 1 : 0))"
    shifted_month = f"(({month} + 9) % 12)"
    return (
        f"(365 * {y} + floor({y} / 4) - floor({y} / 100) + floor({y} / 400)"
        f" + floor((153 * {shifted_month} + 2) / 5) + {day} - 1 - 719468)"
    )


@dataclass(frozen=True)
class OriginVerificationProps:
    naming: Naming
    kms_key_arn: str
    """Customer-managed key that encrypts the secret."""
    rotation_days: int = 30
    """Left out, a new value every 30 days (taken into use by the first apply after that)."""
    recovery_window_days: int = 7
    """Days a deleted secret can still be restored; 0 deletes at once (emulator, tests)."""

    def __post_init__(self) -> None:
        if not 1 <= self.rotation_days <= 365:
            raise ValueError(
                f"OriginVerificationProps.rotation_days {self.rotation_days}: use 1 to 365"
            )


class OriginVerification(Construct):
    """The secret and its two readable values: `current_value` (sent) and `accepted_values`."""

    header_name = HEADER_NAME

    def __init__(self, scope: Construct, id: str, props: OriginVerificationProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        self.secret = SecretsmanagerSecret(
            self,
            "secret",
            name=naming.name("origin-verify"),
            description="Value of the header API Gateway adds and the load balancer's WAF demands",
            kms_key_id=props.kms_key_arn,
            recovery_window_in_days=props.recovery_window_days,
            tags=naming.tags("origin-verify"),
        )
        ephemeral = f"{EPHEMERAL_TYPE}.{naming.name('origin-verify').replace('-', '_')}"
        TerraformStack.of(self).add_override(
            f"ephemeral.{ephemeral}",
            {"password_length": SECRET_LENGTH, "exclude_punctuation": True},
        )
        period = TerraformLocal(
            self,
            "rotation-period",
            f"${{floor({days_since_epoch('plantimestamp()')} / {props.rotation_days})}}",
        )
        self.version = SecretsmanagerSecretVersion(
            self,
            "value",
            secret_id=self.secret.id,
            secret_string_wo=f"${{ephemeral.{ephemeral}.random_password}}",
            secret_string_wo_version=Token.as_number(period.expression),
        )
        current = DataAwsSecretsmanagerSecretVersion(
            self,
            "current",
            secret_id=self.secret.id,
            version_stage="AWSCURRENT",
            depends_on=[self.version],
        )
        versions = DataAwsSecretsmanagerSecretVersions(
            self, "versions", secret_id=self.secret.id, depends_on=[self.version]
        )
        previous = DataAwsSecretsmanagerSecretVersion(self, "previous", secret_id=self.secret.id)
        # Before the first rotation there is no AWSPREVIOUS: accept the current value twice.
        previous.add_override(
            "version_id",
            "${try([for v in data.aws_secretsmanager_secret_versions."
            f"{versions.friendly_unique_id}.versions : v.version_id"
            ' if contains(v.version_stages, "AWSPREVIOUS")][0],'
            f" data.aws_secretsmanager_secret_version.{current.friendly_unique_id}.version_id)}}",
        )
        self.current_value: str = current.secret_string
        self.accepted_values: tuple[str, str] = (current.secret_string, previous.secret_string)
