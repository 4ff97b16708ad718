"""CKV_FD_1: every taggable resource carries the five organization tags.

A resource's tags in AWS are the provider's `default_tags` overlaid with its own `tags`, so the
check counts both: the provider configuration the resource uses (`aws` or `aws.<alias>`) is read
from the same stack file. An empty value does not count. "Taggable" is checkov's own list of AWS
resource types that take `tags`.
"""

from __future__ import annotations

from checkov.common.checks_infra.resources_types import resources_types
from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, effective_tags

REQUIRED_TAGS = ("Environment", "Service", "Owner", "CostCenter", "DataClassification")


class RequiredTags(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Taggable resources carry Environment, Service, Owner, CostCenter and "
            "DataClassification (own tags plus provider default_tags)",
            id="CKV_FD_1",
            categories=[CheckCategories.CONVENTION],
            supported_resources=sorted(resources_types["aws_taggable"]),
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["tags"]
        tags = effective_tags(conf, self.stack())
        missing = [key for key in REQUIRED_TAGS if tags.get(key) in (None, "")]
        if missing:
            self.details.append("missing tags: " + ", ".join(missing))
            return CheckResult.FAILED
        return CheckResult.PASSED


check = RequiredTags()
