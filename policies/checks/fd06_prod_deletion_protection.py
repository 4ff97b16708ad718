"""CKV_FD_6: production databases and load balancers have deletion protection.

"Production" is the resource's effective `Environment` tag (its own tags over the provider's
default_tags) being `prod` or `prod-<suffix>` (fd_common.is_production: prod-eu is production). A
resource whose environment cannot be told (no Environment tag) is treated as production: the
rule fails safe. Other environments pass.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, effective_tags, first, is_production, is_true

PROTECTION_ARGUMENT = {
    "aws_rds_cluster": "deletion_protection",
    "aws_db_instance": "deletion_protection",
    "aws_lb": "enable_deletion_protection",
    "aws_alb": "enable_deletion_protection",
}


class ProdDeletionProtection(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Production databases and load balancers have deletion protection enabled",
            id="CKV_FD_6",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=sorted(PROTECTION_ARGUMENT),
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        argument = PROTECTION_ARGUMENT[self.entity_type]
        self.evaluated_keys = [argument, "tags"]
        environment = effective_tags(conf, self.stack()).get("Environment")
        if not is_production(environment):
            return CheckResult.PASSED
        if is_true(first(conf, argument)):
            return CheckResult.PASSED
        self.details.append(f"Environment={environment or '(unknown)'}: {argument} is not true")
        return CheckResult.FAILED


check = ProdDeletionProtection()
