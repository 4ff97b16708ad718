"""CKV_FD_13: releases roll back on alarms, and production never shifts all traffic at once.

Applies to aws_codedeploy_deployment_group (change control, PCI DSS 6.5):
- `auto_rollback_configuration` is enabled and its events include DEPLOYMENT_STOP_ON_ALARM;
- `alarm_configuration` is enabled and names at least one alarm;
- in production (the effective `Environment` tag is `prod` or `prod-<suffix>`, or unknown:
  fails safe; fd_common.is_production), the
  deployment configuration is not all-at-once: neither a predefined `...AllAtOnce` name nor a
  reference to an `aws_codedeploy_deployment_config` of the stack whose traffic routing is
  `AllAtOnce`. A reference that cannot be resolved in the stack cannot be verified and fails.
"""

from __future__ import annotations

import re

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import (
    StackAwareCheck,
    effective_tags,
    first,
    is_production,
    is_true,
    stack_resources,
    strings,
)

ROLLBACK_ON_ALARM = "DEPLOYMENT_STOP_ON_ALARM"
REFERENCE = re.compile(r"^\$\{aws_codedeploy_deployment_config\.([^.}]+)\.[a-z_]+\}$")


class ReleaseRollback(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="CodeDeploy rolls releases back on alarms and shifts production traffic gradually",
            id="CKV_FD_13",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_codedeploy_deployment_group"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.details = []
        self.evaluated_keys = [
            "auto_rollback_configuration", "alarm_configuration", "deployment_config_name", "tags",
        ]  # fmt: skip
        rollback = first(conf, "auto_rollback_configuration") or {}
        if not is_true(first(rollback, "enabled")) or ROLLBACK_ON_ALARM not in set(
            strings(rollback.get("events"))
        ):
            self.details.append(f"automatic rollback on {ROLLBACK_ON_ALARM} is not on")
        alarms = first(conf, "alarm_configuration") or {}
        if not is_true(first(alarms, "enabled")) or not list(strings(alarms.get("alarms"))):
            self.details.append("no alarm is watched during a deployment")
        stack = self.stack()
        environment = effective_tags(conf, stack).get("Environment")
        if is_production(environment):
            problem = self._all_at_once(str(first(conf, "deployment_config_name") or ""), stack)
            if problem:
                self.details.append(f"Environment={environment or '(unknown)'}: {problem}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED

    def _all_at_once(self, name: str, stack: dict | None) -> str | None:
        if not name:
            return "no deployment_config_name: CodeDeploy's default shifts all traffic at once"
        match = REFERENCE.match(name)
        if not match:
            return f"{name} shifts all traffic at once" if name.endswith("AllAtOnce") else None
        if stack is None:
            self.details.append(f"cannot read the stack {self.scanned_file}; rule not verified")
            return None
        for _, key, body in stack_resources(stack, "aws_codedeploy_deployment_config"):
            if key == match.group(1):
                routing = body.get("traffic_routing_config") or {}
                routing = routing[0] if isinstance(routing, list) and routing else routing
                kind = routing.get("type") if isinstance(routing, dict) else None
                return f"{key} shifts all traffic at once" if kind in (None, "AllAtOnce") else None
        return f"{name} is not a deployment configuration of this stack; rule not verified"


check = ReleaseRollback()
