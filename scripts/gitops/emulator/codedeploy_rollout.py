"""The emulated rollout of one CodeDeploy ECS blue/green deployment (gitops.emulator.codedeploy).

Lifecycle events run one after the other, `STEP_SECONDS` apart; the test listener moves to the
replacement target group at AllowTestTraffic, production traffic at AllowTraffic in the steps of
the deployment configuration (one configured minute lasts `SECONDS_PER_MINUTE`). Before every
step the group's alarms are read from moto's CloudWatch: one in ALARM stops the deployment, as
does StopDeployment. A stopped or failed deployment puts traffic back on the original group when
the group's automatic rollback covers the event; a successful one leaves the listener on the
replacement group and the service on the AppSpec's task definition, as AWS does.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, cast

import yaml
from moto.cloudwatch.models import cloudwatch_backends
from moto.codedeploy.models import DeploymentInfo
from moto.core.utils import utcnow
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends

SECONDS_PER_MINUTE = float(os.environ.get("GITOPS_EMULATOR_CODEDEPLOY_SECONDS_PER_MINUTE", "1"))
"""How long one minute of a canary/linear configuration lasts in the emulator."""
STEP_SECONDS = float(os.environ.get("GITOPS_EMULATOR_CODEDEPLOY_STEP_SECONDS", "0.3"))
"""Pause after each lifecycle event: long enough for a follower to see the steps."""
LIFECYCLE = (
    "BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
    "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic",
)  # fmt: skip

lock = threading.RLock()


class _Stop(Exception):
    """The deployment is stopped: an alarm fired or someone called StopDeployment."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _appspec(revision: dict[str, Any]) -> dict[str, Any]:
    content = (revision or {}).get("appSpecContent", {}).get("content") or ""
    spec: Any = yaml.safe_load(content) if content else None  # checked below, by use
    try:
        (resource,) = [next(iter(r.values())) for r in spec["Resources"]]
        properties = resource["Properties"]
        return {
            "task_definition": properties["TaskDefinition"],
            "container": properties["LoadBalancerInfo"]["ContainerName"],
            "port": int(properties["LoadBalancerInfo"]["ContainerPort"]),
        }
    except (TypeError, KeyError, ValueError) as error:
        raise RuntimeError(f"AppSpec without one ECS service resource ({error})") from None


def _route(elb: Any, listener_arn: str, weights: dict[str, int]) -> None:
    """Point a listener's default action at `weights`, keeping its certificates.

    moto's ModifyListener checks an HTTPS listener's certificates with `len(certificates)` and
    fails on the default None; an empty list means "keep the ones it has", as in the API.
    """
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
    actions = [{"Type": "forward", "Order": 1, "ForwardConfig": {"TargetGroups": groups}}]
    elb.modify_listener(listener_arn, certificates=[], actions=actions)


def _shift_steps(routing: dict[str, Any]) -> list[tuple[int, float]]:
    """(percent on the replacement, seconds to wait after it) for a traffic routing config."""
    if routing.get("type") == "TimeBasedCanary":
        canary = routing["timeBasedCanary"]
        return [(int(canary["canaryPercentage"]), canary["canaryInterval"] * SECONDS_PER_MINUTE),
                (100, 0.0)]  # fmt: skip
    if routing.get("type") == "TimeBasedLinear":
        linear = routing["timeBasedLinear"]
        step, wait = int(linear["linearPercentage"]), linear["linearInterval"] * SECONDS_PER_MINUTE
        return [(min(p, 100), wait if p < 100 else 0.0) for p in range(step, 100 + step, step)]
    return [(100, 0.0)]


def _check(deployment: DeploymentInfo, key: tuple[str, str]) -> None:
    """Raise _Stop when someone stopped the deployment or one of its alarms is in ALARM."""
    stop = getattr(deployment, "stop_requested", None)
    if stop:
        raise _Stop(*stop)
    # moto annotates an AlarmConfiguration, but its handler stores the request's JSON object.
    alarms = cast(dict[str, Any] | None, deployment.deployment_group.alarm_configuration) or {}
    if not alarms.get("enabled"):
        return
    names = [a["name"] for a in alarms.get("alarms", [])]
    cloudwatch = cloudwatch_backends[key[0]][key[1]]
    firing = sorted(
        a.name for a in cloudwatch.get_alarms_by_alarm_names(names) if a.state_value == "ALARM"
    )
    if firing:
        raise _Stop("ALARM_ACTIVE", f"One or more alarms have been activated: {', '.join(firing)}")


def _event(deployment: DeploymentInfo, name: str, status: str) -> None:
    with lock:
        for event in deployment.ecs_target["lifecycleEvents"]:  # type: ignore[attr-defined]
            if event["lifecycleEventName"] == name:
                event["status"] = status
        deployment.ecs_target["lastUpdatedAt"] = utcnow()  # type: ignore[attr-defined]


def _weights(deployment: DeploymentInfo, original: str, replacement: str, percent: int) -> None:
    with lock:
        for task_set in deployment.ecs_target["taskSetsInfo"]:  # type: ignore[attr-defined]
            task_set["trafficWeight"] = float(
                percent if task_set["targetGroup"]["name"] == _name(replacement) else 100 - percent
            )


def _name(target_group_arn: str) -> str:
    """`fraud-tg-blue-dev` from `arn:...:targetgroup/fraud-tg-blue-dev/0123abcd`."""
    return target_group_arn.split("/")[-2] if "/" in target_group_arn else target_group_arn


def run(deployment: DeploymentInfo, key: tuple[str, str], routing: dict[str, Any]) -> None:
    """Run one ECS blue/green deployment to its end (in a thread of its own)."""
    account, region = key
    group = deployment.deployment_group
    ecs, elb = ecs_backends[account][region], elbv2_backends[account][region]
    service_ref = group.ecs_services[0]
    service = ecs.services[f"{service_ref['clusterName']}:{service_ref['serviceName']}"]
    pair = group.load_balancer_info["targetGroupPairInfoList"][0]
    prod = pair["prodTrafficRoute"]["listenerArns"][0]
    test = (pair.get("testTrafficRoute") or {}).get("listenerArns", [None])[0]
    names = [g["name"] for g in pair["targetGroups"]]
    arns = {g.name: g.arn for g in elb.describe_target_groups(None, [], names)}
    original = service.load_balancers[0]["targetGroupArn"]
    replacement = next(arn for arn in arns.values() if arn != original)
    deployment.ecs_target = {  # type: ignore[attr-defined]
        "deploymentId": deployment.deployment_id,
        "targetId": f"{service_ref['clusterName']}:{service_ref['serviceName']}",
        "targetArn": service.arn, "status": "InProgress", "lastUpdatedAt": utcnow(),
        "lifecycleEvents": [{"lifecycleEventName": n, "status": "Pending"} for n in LIFECYCLE],
        "taskSetsInfo": [
            {"taskSetLabel": "Blue", "trafficWeight": 100.0,
             "targetGroup": {"name": _name(original)}},
            {"taskSetLabel": "Green", "trafficWeight": 0.0,
             "targetGroup": {"name": _name(replacement)}},
        ],
    }  # fmt: skip
    deployment.status, deployment.start_time = "InProgress", utcnow()
    current = "BeforeInstall"
    try:
        spec = _appspec(deployment.revision)
        current = "Install"
        task_definition = ecs.describe_task_definition(spec["task_definition"])
        for current in LIFECYCLE:
            _check(deployment, key)
            _event(deployment, current, "InProgress")
            if current == "AllowTestTraffic" and test:
                _route(elb, test, {replacement: 1})
            elif current == "AfterAllowTestTraffic":
                _wait_until_ready(deployment, key)
            elif current == "AllowTraffic":
                for percent, wait in _shift_steps(routing):
                    _route(elb, prod, {original: 100 - percent, replacement: percent})
                    _weights(deployment, original, replacement, percent)
                    _sleep_checking(deployment, key, wait)
            time.sleep(STEP_SECONDS)
            _event(deployment, current, "Succeeded")
        with lock:
            service.task_definition = task_definition.arn
            service.load_balancers[0]["targetGroupArn"] = replacement
            deployment.status = "Succeeded"
    except _Stop as stop:
        _roll_back(
            deployment, key, elb, prod, test, original, current, stop.code, str(stop), "Stopped"
        )
    except Exception as error:  # any failure of a step fails the deployment, as in AWS
        message = f"{current} failed: {error}"
        _roll_back(
            deployment,
            key,
            elb,
            prod,
            test,
            original,
            current,
            "ECS_UPDATE_ERROR",
            message,
            "Failed",
        )
    finally:
        if deployment.status == "InProgress":  # the rollback itself failed: never hang a follower
            deployment.errorInformation = {  # type: ignore[attr-defined]
                "code": "INTERNAL_ERROR",
                "message": f"{current}: the emulated rollout crashed",
            }
            deployment.status = "Failed"
        deployment.complete_time = utcnow()
        deployment.ecs_target["status"] = deployment.status  # type: ignore[attr-defined]


def _sleep_checking(deployment: DeploymentInfo, key: tuple[str, str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _check(deployment, key)
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    _check(deployment, key)


def _wait_until_ready(deployment: DeploymentInfo, key: tuple[str, str]) -> None:
    """With STOP_DEPLOYMENT, traffic waits for ContinueDeployment up to the configured time."""
    ready = (deployment.deployment_group.blue_green_deployment_configuration or {}).get(
        "deploymentReadyOption", {}
    )
    if ready.get("actionOnTimeout") != "STOP_DEPLOYMENT":
        return
    deadline = time.monotonic() + ready.get("waitTimeInMinutes", 0) * SECONDS_PER_MINUTE
    while not getattr(deployment, "continued", False):
        _check(deployment, key)
        if time.monotonic() >= deadline:
            raise _Stop("TIMEOUT", "Nobody continued the deployment before the ready wait ended")
        time.sleep(0.2)


def _roll_back(
    deployment: DeploymentInfo, key: tuple[str, str], elb: Any, prod: str, test: str | None,
    original: str, event: str, code: str, message: str, status: str,
) -> None:  # fmt: skip
    """Traffic back on the original group; the service keeps its task definition."""
    _event(deployment, event, "Failed")
    events = set((deployment.deployment_group.auto_rollback_configuration or {}).get("events", []))
    enabled = (deployment.deployment_group.auto_rollback_configuration or {}).get("enabled")
    wanted = "DEPLOYMENT_STOP_ON_ALARM" if code == "ALARM_ACTIVE" else "DEPLOYMENT_FAILURE"
    with lock:
        if enabled and (wanted in events or code == "USER_STOP"):
            _route(elb, prod, {original: 100})
            if test:
                _route(elb, test, {original: 1})
            _weights(deployment, original, "", 0)
            deployment.rollbackInfo = {  # type: ignore[attr-defined]
                "rollbackMessage": f"Rolled back: traffic is back on {_name(original)}"
            }
        deployment.errorInformation = {"code": code, "message": message}  # type: ignore[attr-defined]
        deployment.status = status
