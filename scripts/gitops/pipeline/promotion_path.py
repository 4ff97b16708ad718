"""Where a release may go next: from one deploy wave to the next, read from the files.

The order is not written anywhere but in each file's `pipeline.wave`: a release moves from an
environment of one wave to the environments of the next non-empty wave, never sideways,
backwards or past a wave. Environments the pipeline does not deploy are not part of it.
"""

from __future__ import annotations

from pathlib import Path

from gitops.errors import UsageError
from infra.config import ConfigError, EnvironmentConfig
from infra.environments import load_environments

SCOPES = ("wave", "environment")
"""`wave`: every environment of the target's wave; `environment`: the named one alone."""


def _all(directory: Path | None) -> list[EnvironmentConfig]:
    try:
        return load_environments(directory=directory)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def describe_path(configs: list[EnvironmentConfig]) -> str:
    """`dev -> staging -> prod, prod-eu`: the waves in order, by their environments."""
    waves: dict[int, list[str]] = {}
    for config in configs:
        if config.pipeline.deploy and config.pipeline.wave is not None:
            waves.setdefault(config.pipeline.wave, []).append(config.name)
    return " -> ".join(", ".join(waves[wave]) for wave in sorted(waves))


def targets(
    from_env: str, to_env: str, scope: str = "wave", directory: Path | None = None
) -> list[str]:
    """The environments a promotion from `from_env` to `to_env` writes; refusals are one line."""
    if scope not in SCOPES:
        raise UsageError(f"--scope {scope!r}: expected one of {', '.join(SCOPES)}")
    configs = _all(directory)
    by_name = {config.name: config for config in configs}
    path = describe_path(configs)
    for name in (from_env, to_env):
        if name not in by_name:
            raise UsageError(
                f"unknown environment {name!r}: promotion runs {path} (environments/*.yaml)"
            )
        if not by_name[name].pipeline.deploy:
            raise UsageError(
                f"{name} is not part of promotion ({path}); edit the release: section"
                f" of {name}.yaml by hand"
            )
    if from_env == to_env:
        raise UsageError(f"cannot promote {from_env} to itself: --from and --to must differ")
    source_wave, target_wave = by_name[from_env].pipeline.wave, by_name[to_env].pipeline.wave
    assert source_wave is not None and target_wave is not None  # deployed files have a wave
    if target_wave == source_wave:
        raise UsageError(
            f"cannot promote {from_env} to {to_env}: both deploy in wave {source_wave};"
            f" a release moves from one wave to the next ({path})"
        )
    if target_wave < source_wave:
        raise UsageError(
            f"cannot promote {from_env} back to {to_env}: promotion only goes forward ({path})"
        )
    later = sorted({c.pipeline.wave for c in configs if c.pipeline.wave is not None})
    next_wave = next(wave for wave in later if wave > source_wave)
    if target_wave != next_wave:
        between = ", ".join(c.name for c in configs if c.pipeline.wave == next_wave)
        raise UsageError(
            f"cannot promote {from_env} straight to {to_env}: a release reaches {to_env}"
            f" through {between} (promote {from_env} -> {between} first)"
        )
    if scope == "environment":
        return [to_env]
    return [c.name for c in configs if c.pipeline.deploy and c.pipeline.wave == target_wave]
