"""CKV_FD_14: every IAM role carries the environment's permissions boundary.

`gitops bootstrap` creates `fraud-boundary-<env>` and the apply role may create or change a
role only when it carries that boundary; a role without one would fail to deploy, and this
check says so at review time instead. A boundary of another name does not count.
"""

from __future__ import annotations

import re

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import first

BOUNDARY = re.compile(r"^arn:aws:iam::\d{12}:policy/fraud-boundary-[a-z0-9-]+$")


class IamRoleBoundary(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM roles carry the fraud-boundary-<env> permissions boundary",
            id="CKV_FD_14",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["permissions_boundary"]
        boundary = first(conf, "permissions_boundary")
        if isinstance(boundary, str) and BOUNDARY.match(boundary):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = IamRoleBoundary()
