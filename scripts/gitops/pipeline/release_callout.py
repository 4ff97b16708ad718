"""What a plan says about a release: the image and version that change, and how they roll out.

A release changes the API task definition (its image digest and APP_VERSION); after the apply,
CodeDeploy rolls it out blue/green. The plan comment calls that out above the counts, with the
deployment configuration and rollback alarms read from the same plan (the deployment group is
in `resource_changes` even when unchanged), so a reviewer sees what will happen to traffic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

API_CONTAINER = "api"


def _api_container(definitions: Any) -> tuple[str, str] | None:
    """(image digest, APP_VERSION) of the API container in a container_definitions string."""
    try:
        containers = json.loads(definitions) if isinstance(definitions, str) else None
    except ValueError:
        return None
    for container in containers or ():
        if isinstance(container, dict) and container.get("name") == API_CONTAINER:
            image = str(container.get("image", ""))
            version = next(
                (str(e.get("value")) for e in container.get("environment") or ()
                 if isinstance(e, dict) and e.get("name") == "APP_VERSION"),
                "?",
            )  # fmt: skip
            return image.rpartition("@")[2] or image, version
    return None


def release_of(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """The release a plan rolls out, or None when it changes no running task definition."""
    release: dict[str, Any] | None = None
    group: dict[str, Any] = {}
    for entry in plan.get("resource_changes") or ():
        change = entry.get("change") or {}
        before, after = change.get("before") or {}, change.get("after") or {}
        if entry.get("type") == "aws_codedeploy_deployment_group":
            group = after or before
        elif entry.get("type") == "aws_ecs_task_definition" and before and after:
            old = _api_container(before.get("container_definitions"))
            new = _api_container(after.get("container_definitions"))
            if old and new and old != new:
                release = {"from_digest": old[0], "to_digest": new[0],
                           "from_version": old[1], "to_version": new[1]}  # fmt: skip
    if release is None:
        return None
    alarms = [
        str(name)
        for block in group.get("alarm_configuration") or ()
        if block.get("enabled")
        for name in block.get("alarms") or ()
    ]
    return {
        **release,
        "configuration": str(group.get("deployment_config_name") or "known after apply"),
        "alarms": sorted(alarms),
    }


def release_line(environment: str, release: Mapping[str, Any]) -> str:
    """The comment's one line for one environment's release."""

    def short(digest: str) -> str:
        return f"sha256:{digest.removeprefix('sha256:')[:4]}..."

    alarms = ", ".join(f"`{name}`" for name in release["alarms"]) or "no alarm"
    return (
        f"> - `{environment}`: release {release['from_version']} -> {release['to_version']}"
        f" ({short(release['from_digest'])} -> {short(release['to_digest'])}) rolls out"
        f" blue/green through CodeDeploy ({release['configuration']}), rolled back"
        f" automatically if {alarms} fire"
    )
