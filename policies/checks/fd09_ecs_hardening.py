"""CKV_FD_9: ECS tasks get no public IP and every container runs non-root on a read-only root.

- aws_ecs_service: `network_configuration.assign_public_ip` must not be true (default false).
- aws_ecs_task_definition: `container_definitions` (a JSON string) is parsed; every container
  must set `user` to something other than root (`root`, `0`, `0:<gid>`, `root:<group>`) and
  `readonlyRootFilesystem: true`. Definitions that are not literal JSON (e.g. `${file(...)}`)
  cannot be verified and fail.
"""

from __future__ import annotations

import json

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from fd_common import first, is_true

ROOT_USERS = frozenset({"root", "0"})


def is_root(user: object) -> bool:
    if user is None or str(user).strip() == "":
        return True  # no user: the image's default, root for most images
    return str(user).split(":", 1)[0].strip() in ROOT_USERS


class EcsHardening(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS services assign no public IP and every container runs as a non-root user "
            "with a read-only root filesystem",
            id="CKV_FD_9",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_ecs_service", "aws_ecs_task_definition"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        if self.entity_type == "aws_ecs_service":
            self.evaluated_keys = ["network_configuration/[0]/assign_public_ip"]
            network = first(conf, "network_configuration") or {}
            if isinstance(network, dict) and is_true(first(network, "assign_public_ip")):
                self.details.append("assign_public_ip is true")
                return CheckResult.FAILED
            return CheckResult.PASSED

        self.evaluated_keys = ["container_definitions"]
        raw = first(conf, "container_definitions")
        try:
            containers = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            containers = None
        if not isinstance(containers, list) or not containers:
            self.details.append("container_definitions is not a literal JSON list")
            return CheckResult.FAILED
        for container in containers:
            name = container.get("name", "?") if isinstance(container, dict) else "?"
            container = container if isinstance(container, dict) else {}
            if is_root(container.get("user")):
                self.details.append(f"container {name} runs as root")
            if container.get("readonlyRootFilesystem") is not True:
                self.details.append(f"container {name} has a writable root filesystem")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = EcsHardening()
