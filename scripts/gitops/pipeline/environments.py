"""`gitops environments`: every environment file as the workflows and people need it.

The workflows cannot list environments themselves without naming them, so their matrices come
from here: the plan matrix (pull requests, drift) and one matrix per deploy wave. GitHub cannot
add jobs at run time, so deploy.yml has `MAX_WAVES` fixed wave jobs and skips the empty ones;
the schema refuses a higher wave.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gitops.errors import UsageError
from infra.config import EnvironmentConfig
from infra.pipeline_settings import MAX_WAVES

GITHUB_OUTPUT_VARIABLE = "GITHUB_OUTPUT"


def describe(config: EnvironmentConfig) -> dict[str, Any]:
    """One environment: where it lives, where it sits in the pipeline, how the pipeline gets in."""
    return {
        "name": config.name,
        "stack": config.stack_name,
        "region": config.region,
        "account_id": config.account_id,
        "deploy": config.pipeline.deploy,
        "wave": config.pipeline.wave,
        "plan_role_arn": config.plan_role_arn if config.pipeline.deploy else None,
        "apply_role_arn": config.apply_role_arn if config.pipeline.deploy else None,
        "state_bucket": config.state.bucket,
        "state_key": config.state.key,
        "state_region": config.state.region,
    }


def deployed(configs: list[EnvironmentConfig]) -> list[EnvironmentConfig]:
    return [config for config in configs if config.pipeline.deploy]


def wave_members(configs: list[EnvironmentConfig], wave: int) -> list[EnvironmentConfig]:
    return [config for config in deployed(configs) if config.pipeline.wave == wave]


def workflow_outputs(configs: list[EnvironmentConfig]) -> dict[str, str]:
    """Step outputs, each one line of JSON: `plan` (pull requests, in each entry's
    `github_environment`; drift), `planned` (names),
    `waves` (the non-empty wave numbers) and `wave_1`..`wave_N` (one deploy matrix per wave)."""

    def matrix(members: list[EnvironmentConfig], role: str, **more: str) -> str:
        include = [
            {"environment": c.name, "region": c.region, "role_arn": getattr(c, role)}
            | {key: getattr(c, attribute) for key, attribute in more.items()}
            for c in members
        ]
        return json.dumps({"include": include}, separators=(",", ":"))

    planned = deployed(configs)
    outputs = {
        "plan": matrix(planned, "plan_role_arn", github_environment="plan_github_environment"),
        "planned": json.dumps([c.name for c in planned], separators=(",", ":")),
        "waves": json.dumps(sorted({c.pipeline.wave for c in planned}), separators=(",", ":")),
    }
    for wave in range(1, MAX_WAVES + 1):
        outputs[f"wave_{wave}"] = matrix(wave_members(configs, wave), "apply_role_arn")
    return outputs


def write_github_output(outputs: dict[str, str], environ: dict[str, str] | None = None) -> Path:
    """Append `name=value` lines to the file Actions names in GITHUB_OUTPUT."""
    environ = dict(os.environ) if environ is None else environ
    target = environ.get(GITHUB_OUTPUT_VARIABLE)
    if not target:
        raise UsageError(f"--github-output: {GITHUB_OUTPUT_VARIABLE} is not set (not in Actions?)")
    lines = "".join(f"{name}={value}\n" for name, value in outputs.items())
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(lines)
    except OSError as error:
        message = f"{GITHUB_OUTPUT_VARIABLE}={target}: cannot write ({error.strerror})"
        raise UsageError(message) from None
    return Path(target)


def table(configs: list[EnvironmentConfig]) -> list[str]:
    """For people: one line per environment, deployed ones by wave first."""
    header = ("name", "region", "account", "wave", "plan role", "apply role", "state")
    rows = [header]
    for config in configs:
        item = describe(config)
        rows.append((
            item["name"], item["region"], item["account_id"],
            str(item["wave"]) if config.pipeline.deploy else "-",
            item["plan_role_arn"] or "-", item["apply_role_arn"] or "-",
            f"s3://{item['state_bucket']}/{item['state_key']} ({item['state_region']})",
        ))  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip
