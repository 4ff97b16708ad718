"""`gitops release ENV --image-digest sha256:... [--app-version V]`: put a new image in one file.

A release starts as a change to the `release:` section of one environment file, made by the
application's CI through `release.yml`, and then takes the path of every change: a pull request,
its plan comment, a review, a merge, a deploy that rolls it out blue/green. The file is edited
with promote's text editor (comments and layout kept, that section only) and validated before
it replaces the original, so a malformed release never lands half-written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import UsageError
from gitops.pipeline import promote
from infra.config import ConfigError, EnvironmentConfig
from infra.environments import environment_file, environment_names
from infra.release_config import ReleaseConfig

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
VERSION = re.compile(ReleaseConfig.model_fields["app_version"].metadata[0].pattern)


@dataclass(frozen=True)
class ReleaseResult:
    """What a release changes in one environment file (the shape promote's validator reads)."""

    to_env: str
    target_path: Path
    release: ReleaseConfig
    """The release the environment runs once the change is merged."""
    previous: ReleaseConfig
    changes: tuple[tuple[str, Any, Any], ...]
    rollout: str
    """How CodeDeploy moves traffic in this environment, from its file."""

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(field for field, _, _ in self.changes)

    def branch_name(self) -> str:
        """`release/<env>/<version>-<digest12>`."""
        version = re.sub(r"[^0-9A-Za-z._-]+", "-", self.release.app_version).strip(".-")
        digest = self.release.image_digest.removeprefix("sha256:")[:12]
        return f"release/{self.to_env}/{version or 'release'}-{digest}"

    def pr_title(self) -> str:
        digest = self.release.image_digest.removeprefix("sha256:")[:12]
        return f"Release {self.release.app_version} ({digest}) to {self.to_env}"

    def pr_body(self) -> str:
        rows = [f"| `{field}` | `{new}` | `{old}` |" for field, old, new in self.changes]
        return "\n".join(
            [
                f"# {self.pr_title()}",
                "",
                f"Changes the `release:` section of `{promote.repository_path(self.target_path)}`"
                " and nothing else.",
                "",
                f"| field | new | {self.to_env} before |",
                "| --- | --- | --- |",
                *rows,
                "",
                f"After the merge, the deploy applies the reviewed plan and CodeDeploy rolls the"
                f" new task definition out blue/green ({self.rollout}): first on the standby"
                " target group and the test listener, then production traffic, rolled back"
                " automatically if a rollback alarm fires. To undo it once it is done, release"
                f" the previous digest `{self.previous.image_digest}` the same way.",
                "",
            ]
        )


def plan_release(
    env: str, image_digest: str, app_version: str | None = None, directory: Path | None = None
) -> tuple[ReleaseResult, EnvironmentConfig, str]:
    """Check the inputs, and compute the edited file text; nothing is written."""
    try:
        known = environment_names(directory)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if env not in known:
        raise UsageError(f"unknown environment {env!r}: expected one of {', '.join(known)}")
    if not DIGEST.fullmatch(image_digest):
        raise UsageError(
            f"--image-digest {image_digest!r} is malformed: expected sha256: and 64 lowercase"
            " hex digits"
        )
    if app_version is not None and not VERSION.fullmatch(app_version):
        raise UsageError(f"--app-version {app_version!r} is not a semantic version (e.g. 1.5.0)")
    config = promote._load(env, directory)
    wanted = {"image_digest": image_digest}
    if app_version is not None:
        wanted["app_version"] = app_version
    changes = tuple(
        (field, getattr(config.release, field), value)
        for field, value in wanted.items()
        if getattr(config.release, field) != value
    )
    if not changes:
        raise UsageError(
            f"nothing to release: {env} already runs {config.release.app_version} ({image_digest})"
        )
    path = environment_file(env, directory)
    release = config.release.model_copy(update={field: new for field, _, new in changes})
    result = ReleaseResult(
        env, path, release, config.release, changes,
        config.blue_green.deployment_config.describe(),
    )  # fmt: skip
    text = promote._read_text(path)
    edited = promote.edit_release_block(text, {f: new for f, _, new in changes}, path)
    return result, config, edited


def release(
    env: str, image_digest: str, app_version: str | None = None, directory: Path | None = None
) -> ReleaseResult:
    """Write the new release into the file, atomically and only if the whole file validates."""
    result, original, edited = plan_release(env, image_digest, app_version, directory)
    promote._replace_validated(result.target_path, edited, original, result)  # type: ignore[arg-type]
    return result
