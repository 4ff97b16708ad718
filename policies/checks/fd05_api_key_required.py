"""CKV_FD_5: every API Gateway method except OPTIONS (CORS preflight) requires an API key."""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import first, is_true


class ApiKeyRequired(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="API Gateway methods other than OPTIONS require an API key",
            id="CKV_FD_5",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_api_gateway_method"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["http_method", "api_key_required"]
        if str(first(conf, "http_method", "")).upper() == "OPTIONS":
            return CheckResult.UNKNOWN
        if is_true(first(conf, "api_key_required")):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ApiKeyRequired()
