"""After the apply: roll a new task definition out blue/green through CodeDeploy, and follow it.

Terraform registers the release's task definition but, by design, leaves the service alone
(CodeDeploy owns which revision runs). So when the newest revision of the family is not the
one the service runs, `follow` starts a CodeDeploy deployment whose AppSpec names it, the API
container and its port, or follows the one already in progress (a re-run never starts a
second), printing one line per change of status, lifecycle event or traffic weight, until it
ends or the environment's timeout passes. Failure, stop or rollback raise one line naming the
deployment and the reason; the deploy job reports it in the environment's failure issue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops.errors import GitopsError
from infra.config import EnvironmentConfig
from infra.naming import Naming

ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
API_CONTAINER = "api"


class RolloutFailed(GitopsError):
    """The deployment failed, was stopped or rolled back, or did not end in time."""


@dataclass(frozen=True)
class Rollout:
    deployment_id: str
    configuration: str
    seconds: float
    from_revision: str
    to_revision: str

    def summary_markdown(self, environment: str) -> str:
        return "\n".join([
            f"### Blue/green rollout of `{environment}`", "",
            "| deployment | configuration | duration | from | to |",
            "| --- | --- | --- | --- | --- |",
            f"| `{self.deployment_id}` | {self.configuration} | {self.seconds:.1f}s"
            f" | `{_revision(self.from_revision)}` | `{_revision(self.to_revision)}` |", "",
        ])  # fmt: skip


def _revision(arn: str) -> str:
    return arn.rpartition("/")[2]


def appspec(task_definition: str, container: str, port: int) -> dict[str, Any]:
    """The revision CodeDeploy deploys: an inline AppSpec naming the task definition."""
    content = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
        }}}],
    }  # fmt: skip
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(content)}}


def follow(
    config: EnvironmentConfig,
    client: Callable[[str], Any],
    log: Callable[[str], None] = print,
    poll_seconds: float = 1.0,
) -> Rollout | None:
    """Start or follow the rollout of the newest task definition; None when there is none."""
    naming = Naming(config.name)
    ecs, codedeploy = client("ecs"), client("codedeploy")
    name = naming.name("api")
    (service,) = ecs.describe_services(cluster=naming.name("cluster"), services=[name])["services"]
    running = service["taskDefinition"]
    newest = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]
    registered = newest["taskDefinitionArn"]
    active = codedeploy.list_deployments(
        applicationName=name, deploymentGroupName=name, includeOnlyStatuses=ACTIVE
    ).get("deployments", [])
    if active:
        deployment_id = active[0]
        log(f"{config.name}: following deployment {deployment_id}, already in progress")
    elif registered == running:
        log(f"{config.name}: the service runs {_revision(running)}; nothing to roll out")
        return None
    else:
        deployment_id = codedeploy.create_deployment(
            applicationName=name,
            deploymentGroupName=name,
            revision=appspec(registered, API_CONTAINER, config.service.container_port),
            description=f"{config.release.app_version} {config.release.image_digest}",
        )["deploymentId"]
        log(
            f"{config.name}: deployment {deployment_id} started: {_revision(running)} ->"
            f" {_revision(registered)}"
        )
    return _wait(config, codedeploy, deployment_id, running, registered, log, poll_seconds)


def _wait(
    config: EnvironmentConfig, codedeploy: Any, deployment_id: str, running: str,
    registered: str, log: Callable[[str], None], poll_seconds: float,
) -> Rollout:  # fmt: skip
    started = time.monotonic()
    deadline = started + config.blue_green.timeout_minutes * 60
    seen: set[str] = set()
    while True:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        elapsed = time.monotonic() - started
        for line in [f"status {info['status']}", *_target_lines(codedeploy, deployment_id)]:
            if line not in seen:
                seen.add(line)
                log(f"[{elapsed:6.1f}s] {config.name}: {line}")
        if info["status"] == "Succeeded":
            return Rollout(
                deployment_id,
                str(info.get("deploymentConfigName", "")),
                elapsed,
                running,
                registered,
            )
        if info["status"] in ("Failed", "Stopped"):
            raise RolloutFailed(_failure(deployment_id, info, seen))
        if time.monotonic() >= deadline:
            raise RolloutFailed(
                f"deployment {deployment_id} still {info['status']} after"
                f" {config.blue_green.timeout_minutes} min (blue_green.timeout_minutes)"
            )
        time.sleep(poll_seconds)


def _target_lines(codedeploy: Any, deployment_id: str) -> list[str]:
    """One line per lifecycle event status and per traffic weight, as CodeDeploy reports them."""
    ids = codedeploy.list_deployment_targets(deploymentId=deployment_id).get("targetIds", [])
    if not ids:
        return []
    targets = codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=ids)
    lines = []
    for target in targets.get("deploymentTargets", []):
        ecs = target.get("ecsTarget") or {}
        for event in ecs.get("lifecycleEvents", []):
            if event.get("status") not in (None, "Pending"):
                lines.append(f"{event['lifecycleEventName']} {event['status']}")
        weights = ", ".join(
            f"{s.get('targetGroup', {}).get('name', s.get('taskSetLabel'))}"
            f" {s.get('trafficWeight', 0):.0f}%"
            for s in ecs.get("taskSetsInfo", [])
        )
        if weights:
            lines.append(f"traffic {weights}")
    return lines


def _failure(deployment_id: str, info: dict[str, Any], seen: set[str]) -> str:
    error = info.get("errorInformation") or {}
    failed = sorted(line.split()[0] for line in seen if line.endswith(" Failed"))
    where = f" at {failed[0]}" if failed else ""
    rollback = (info.get("rollbackInfo") or {}).get("rollbackMessage")
    reason = error.get("message") or error.get("code") or "no reason given"
    return f"deployment {deployment_id} {info['status'].lower()}{where}: {reason}" + (
        f"; {rollback}" if rollback else "; traffic stays on the previous revision"
    )
