"""CodeDeploy's ECS blue/green in the emulator: the operations moto 5.2.5 lacks, and deployments
that actually run.

moto 5.2.5 creates and reads applications, deployment groups and deployments, but answers 500
to `UpdateDeploymentGroup`, `GetDeploymentConfig`, `StopDeployment`, `DeleteDeploymentGroup` and
`DeleteApplication` (and has no `CreateDeploymentConfig`), reports no alarm configuration, and
its deployments stay `Created` forever. `install()` adds those operations and a small engine:
a deployment of an ECS blue/green group runs its lifecycle events in a background thread,
moves the test listener and then production traffic (weights per the deployment
configuration, one configured minute lasting `SECONDS_PER_MINUTE`), polls the group's alarms
between steps (an alarm in ALARM stops it, as `StopDeployment` does) and rolls traffic back
when stopped or failed. On success the listener forwards to the replacement target group and
the service runs the AppSpec's task definition, as in AWS, so Terraform's re-plan is empty.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.codedeploy import responses as codedeploy_responses
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import DeploymentInfo
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

from gitops.emulator import codedeploy_rollout as rollout

PREDEFINED: dict[str, dict[str, Any]] = {
    "CodeDeployDefault.ECSAllAtOnce": {"type": "AllAtOnce"},
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {
        "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1},
    },
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {
        "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3},
    },
    "CodeDeployDefault.ECSCanary10Percent5Minutes": {
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    },
    "CodeDeployDefault.ECSCanary10Percent15Minutes": {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15},
    },
}  # fmt: skip

_configs: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
"""(account, region) -> custom deployment configuration name -> DeploymentConfigInfo."""


class _Error(CodeDeployException):
    code = 400

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)


# --- the operations moto lacks -----------------------------------------------------------------


def _key(response: CodeDeployResponse) -> tuple[str, str]:
    return response.current_account, response.region


def _update_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application = self._get_param("applicationName")
    group = backend.get_deployment_group(application, self._get_param("currentDeploymentGroupName"))
    fields = {
        "deploymentConfigName": "deployment_config_name",
        "serviceRoleArn": "service_role_arn",
        "alarmConfiguration": "alarm_configuration",
        "autoRollbackConfiguration": "auto_rollback_configuration",
        "deploymentStyle": "deployment_style",
        "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
        "loadBalancerInfo": "load_balancer_info",
        "ecsServices": "ecs_services",
        "triggerConfigurations": "trigger_configurations",
        "outdatedInstancesStrategy": "outdated_instances_strategy",
        "terminationHookEnabled": "termination_hook_enabled",
    }
    with rollout.lock:
        for parameter, attribute in fields.items():
            value = self._get_param(parameter)
            if value is not None:
                setattr(group, attribute, value)
        new_name = self._get_param("newDeploymentGroupName")
        if new_name and new_name != group.deployment_group_name:
            groups = backend.deployment_groups[application]
            groups[new_name] = groups.pop(group.deployment_group_name)
            group.deployment_group_name = new_name
    return ActionResult({"hooksNotCleanedUp": []})


def _delete_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application, name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
    backend.get_application(application)
    with rollout.lock:
        backend.deployment_groups.get(application, {}).pop(name, None)
    return ActionResult({"hooksNotCleanedUp": []})


def _delete_application(self: CodeDeployResponse) -> EmptyResult:
    backend = self.codedeploy_backend
    application = self._get_param("applicationName")
    with rollout.lock:
        backend.applications.pop(application, None)
        backend.deployment_groups.pop(application, None)
    return EmptyResult()


def _create_deployment_config(self: CodeDeployResponse) -> ActionResult:
    name = self._get_param("deploymentConfigName")
    configs = _configs.setdefault(_key(self), {})
    if name in configs or name in PREDEFINED:
        raise _Error("DeploymentConfigAlreadyExistsException", f"{name} already exists")
    info = {
        "deploymentConfigId": f"{abs(hash(name)):x}",
        "deploymentConfigName": name,
        "computePlatform": self._get_param("computePlatform") or "Server",
        "createTime": utcnow(),
    }
    for parameter in ("trafficRoutingConfig", "minimumHealthyHosts", "zonalConfig"):
        if self._get_param(parameter) is not None:
            info[parameter] = self._get_param(parameter)
    with rollout.lock:
        configs[name] = info
    return ActionResult({"deploymentConfigId": info["deploymentConfigId"]})


def _config_info(key: tuple[str, str], name: str) -> dict[str, Any]:
    if name in PREDEFINED:
        return {
            "deploymentConfigId": name, "deploymentConfigName": name, "computePlatform": "ECS",
            "trafficRoutingConfig": PREDEFINED[name],
        }  # fmt: skip
    info = _configs.get(key, {}).get(name)
    if info is None:
        raise _Error("DeploymentConfigDoesNotExistException", f"{name} does not exist")
    return info


def _get_deployment_config(self: CodeDeployResponse) -> ActionResult:
    info = _config_info(_key(self), self._get_param("deploymentConfigName"))
    return ActionResult({"deploymentConfigInfo": info})


def _delete_deployment_config(self: CodeDeployResponse) -> EmptyResult:
    name = self._get_param("deploymentConfigName")
    if name in PREDEFINED:
        raise _Error("InvalidOperationException", f"{name} is predefined and cannot be deleted")
    with rollout.lock:
        _configs.get(_key(self), {}).pop(name, None)
    return EmptyResult()


def _stop_deployment(self: CodeDeployResponse) -> ActionResult:
    deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
    if deployment.status in ("Succeeded", "Failed", "Stopped"):
        raise _Error("DeploymentAlreadyCompletedException", f"{deployment.status}")
    deployment.stop_requested = ("USER_STOP", "Stopped by StopDeployment")  # type: ignore[attr-defined]
    return ActionResult({"status": "Pending", "statusMessage": "Stop requested"})


def _continue_deployment(self: CodeDeployResponse) -> EmptyResult:
    deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
    deployment.continued = True  # type: ignore[attr-defined]
    return EmptyResult()


def _list_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
    target = getattr(deployment, "ecs_target", None)
    return ActionResult({"targetIds": [target["targetId"]] if target else []})


def _batch_get_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
    target = getattr(deployment, "ecs_target", None)
    with rollout.lock:
        found = [dict(target)] if target else []
    return ActionResult(
        {
            "deploymentTargets": [
                {"deploymentTargetType": "ECSTarget", "ecsTarget": t} for t in found
            ]
        }
    )


_original_group_info = codedeploy_responses._deployment_group_info
_original_deployment_info = codedeploy_responses._deployment_info
_original_create_deployment = CodeDeployResponse.create_deployment


def _deployment_group_info(group: Any) -> dict[str, Any]:
    """moto leaves the alarm configuration out; the provider would re-add it on every plan."""
    info = _original_group_info(group)
    info["alarmConfiguration"] = group.alarm_configuration or {}
    return info


def _deployment_info(deployment: DeploymentInfo) -> dict[str, Any]:
    info = _original_deployment_info(deployment)
    for key in ("errorInformation", "rollbackInfo"):
        info[key] = getattr(deployment, key, {})
    return info


def _create_deployment(self: CodeDeployResponse) -> ActionResult:
    result = _original_create_deployment(self)
    deployment = self.codedeploy_backend.get_deployment(result.result["deploymentId"])  # type: ignore[index]
    group = deployment.deployment_group
    if (group.deployment_style or {}).get("deploymentType") == "BLUE_GREEN" and group.ecs_services:
        key = _key(self)
        routing = _config_info(key, str(deployment.deployment_config_name))
        thread = threading.Thread(
            target=rollout.run,
            args=(deployment, key, routing.get("trafficRoutingConfig", {})),
            daemon=True,
        )
        thread.start()
    return result


def install() -> None:
    """Add the operations and the engine to moto's CodeDeploy (idempotent)."""
    # Ours takes moto's groups and their CodeDeploy-for-ECS fields, typed loosely (Any).
    codedeploy_responses._deployment_group_info = _deployment_group_info  # type: ignore[assignment]
    codedeploy_responses._deployment_info = _deployment_info
    for name, handler in {
        "create_deployment": _create_deployment,
        "update_deployment_group": _update_deployment_group,
        "delete_deployment_group": _delete_deployment_group,
        "delete_application": _delete_application,
        "create_deployment_config": _create_deployment_config,
        "get_deployment_config": _get_deployment_config,
        "delete_deployment_config": _delete_deployment_config,
        "stop_deployment": _stop_deployment,
        "continue_deployment": _continue_deployment,
        "list_deployment_targets": _list_deployment_targets,
        "batch_get_deployment_targets": _batch_get_deployment_targets,
    }.items():
        setattr(CodeDeployResponse, name, handler)
