"""The plan comment's release callout, from plan JSON in `terraform show -json`'s shape."""

from __future__ import annotations

import json
from typing import Any

from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import CommentContext, render

OLD, NEW = "sha256:83b4" + "0" * 60, "sha256:9f2c" + "1" * 60


def containers(digest: str, version: str) -> str:
    return json.dumps([
        {"name": "api", "image": f"123.dkr.ecr.us-east-1.amazonaws.com/fraud-api-dev@{digest}",
         "environment": [{"name": "APP_VERSION", "value": version}]},
        {"name": "xray-daemon", "image": "public.ecr.aws/xray/aws-xray-daemon:3.3.14"},
    ])  # fmt: skip


def plan(before: str, after: str) -> dict[str, Any]:
    group = {
        "deployment_config_name": "fraud-canary-10pct-5min-prod",
        "alarm_configuration": [{"enabled": True, "alarms": ["fraud-target-5xx-prod",
                                                             "fraud-api-latency-prod"]}],
    }  # fmt: skip
    task = {
        "actions": ["create", "delete"],
        "before": {"container_definitions": before},
        "after": {"container_definitions": after},
        "after_unknown": {},
    }
    unchanged = {"actions": ["no-op"], "before": group, "after": group, "after_unknown": {}}
    return {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_ecs_task_definition.task", "type": "aws_ecs_task_definition",
             "mode": "managed", "name": "task", "change": task},
            {"address": "aws_codedeploy_deployment_group.g",
             "type": "aws_codedeploy_deployment_group", "mode": "managed", "name": "g",
             "change": unchanged},
        ],
    }  # fmt: skip


def test_a_new_image_is_called_out_with_configuration_and_alarms() -> None:
    environment = EnvironmentPlan.from_plan(
        "prod", plan(containers(OLD, "1.4.0"), containers(NEW, "1.5.0"))
    )
    summary = EnvironmentPlan.from_summary(json.loads(json.dumps(environment.to_summary())))
    text = render([summary], CommentContext(commit="a" * 40))
    assert (
        "> - `prod`: release 1.4.0 -> 1.5.0 (sha256:83b4... -> sha256:9f2c...) rolls out blue/green"
        " through CodeDeploy (fraud-canary-10pct-5min-prod), rolled back automatically if"
        " `fraud-api-latency-prod`, `fraud-target-5xx-prod` fire"
    ) in text


def test_a_task_change_without_a_new_image_or_version_is_no_release() -> None:
    same = containers(OLD, "1.4.0")
    changed = same.replace("3.3.14", "3.3.15")
    assert EnvironmentPlan.from_plan("dev", plan(same, changed)).release is None
    assert "A new release" not in render(
        [EnvironmentPlan.from_plan("dev", plan(same, changed))], CommentContext(commit="a" * 40)
    )
