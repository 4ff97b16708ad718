"""The folder of environment files: which environments exist, and loading them.

Every `<name>.yaml` in the folder is an environment named by its file; there is no list of
names anywhere in code. `infra.config` is the schema each file is validated against.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

from infra.config import (
    ENVIRONMENT_NAME_PATTERN,
    REPO_ROOT,
    ConfigError,
    EnvironmentConfig,
    parse_environment,
)

DEFAULT_ENVIRONMENTS_DIR = REPO_ROOT / "environments"
ENVIRONMENTS_DIR_VARIABLE = "GITOPS_ENVIRONMENTS_DIR"


def environments_dir() -> Path:
    """The folder of environment files; `GITOPS_ENVIRONMENTS_DIR` overrides it (tests, forks)."""
    override = os.environ.get(ENVIRONMENTS_DIR_VARIABLE)
    return Path(override) if override else DEFAULT_ENVIRONMENTS_DIR


def environment_names(directory: Path | None = None) -> tuple[str, ...]:
    """Every environment: one per `<name>.yaml` in the folder, sorted; a bad name is an error."""
    folder = directory or environments_dir()
    if not folder.is_dir():
        raise ConfigError(f"{_display(folder)}: no such folder of environment files")
    names = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix not in (".yaml", ".yml"):
            continue
        if path.suffix == ".yml":
            raise ConfigError(f"{_display(path)}: environment files end in .yaml; rename it")
        if not re.fullmatch(ENVIRONMENT_NAME_PATTERN, path.stem):
            raise ConfigError(
                f"{_display(path)}: environment name {path.stem!r} must match"
                f" {ENVIRONMENT_NAME_PATTERN} (lower case, digits, dashes; 2 to 21 characters)"
            )
        names.append(path.stem)
    if not names:
        raise ConfigError(f"{_display(folder)}: no environment files (<name>.yaml)")
    return tuple(sorted(names))


def environment_file(name: str, directory: Path | None = None) -> Path:
    """The file of an existing environment; an unknown name is an error listing the known ones."""
    known = environment_names(directory)
    if name not in known:
        raise ConfigError(f"unknown environment {name!r}: expected one of {', '.join(known)}")
    return (directory or environments_dir()) / f"{name}.yaml"


def _display(path: Path) -> Path:
    """The path as a person typed it: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def load_environment(name: str, directory: Path | None = None) -> EnvironmentConfig:
    """Read and validate one environment file."""
    path = _display(environment_file(name, directory))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: environment file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    return parse_environment(name, data, str(path))


def pipeline_order(config: EnvironmentConfig) -> tuple[bool, int, str]:
    """Deployed environments by wave, then the others; by name within each."""
    return (not config.pipeline.deploy, config.pipeline.wave or 0, config.name)


def load_environments(
    names: list[str] | tuple[str, ...] = (), directory: Path | None = None
) -> list[EnvironmentConfig]:
    """The named environments in the order given, or every one in pipeline order.

    Loading all of them also checks what no single file can: no two share a state object.
    """
    if names:
        return [load_environment(name, directory) for name in names]
    configs = [load_environment(name, directory) for name in environment_names(directory)]
    owners: dict[tuple[str, str], str] = {}
    for config in configs:
        where = (config.state.bucket, config.state.key)
        if where in owners:
            raise ConfigError(
                f"{_display(environment_file(config.name, directory))}: state: key"
                f" s3://{where[0]}/{where[1]} is already the state of {owners[where]};"
                f" remove state.key to get fraud-detection/{config.name}.tfstate"
            )
        owners[where] = config.name
    return sorted(configs, key=pipeline_order)


def main() -> int:
    """`python -m infra.environments`: validate every environment file (the pre-commit hook)."""
    try:
        configs = load_environments()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(configs)} environment file(s) valid: {', '.join(c.name for c in configs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
