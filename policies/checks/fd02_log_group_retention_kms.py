"""CKV_FD_2: CloudWatch log groups keep logs at least MIN_RETENTION_DAYS and are KMS-encrypted.

MIN_RETENTION_DAYS is 30: what every environment sets (`logs.retention_days`) and what the brief
asks of the API's logs. Retention 0 (or left out) means "never expire", which keeps logs longer
than the minimum and passes. A retention that is not a literal number (an unresolved reference)
cannot be verified and fails.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import first

MIN_RETENTION_DAYS = 30


class LogGroupRetentionAndKms(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"CloudWatch log groups retain logs at least {MIN_RETENTION_DAYS} days and are "
            "encrypted with a KMS key",
            id="CKV_FD_2",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_cloudwatch_log_group"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["retention_in_days", "kms_key_id"]
        self.details = []
        retention = first(conf, "retention_in_days", 0)
        try:
            days = int(retention)
        except (TypeError, ValueError):
            self.details.append(f"retention_in_days {retention!r} is not a number")
            return CheckResult.FAILED
        if 0 < days < MIN_RETENTION_DAYS:
            self.details.append(f"retention_in_days {days} < {MIN_RETENTION_DAYS}")
        if not first(conf, "kms_key_id"):
            self.details.append("kms_key_id is not set")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = LogGroupRetentionAndKms()
