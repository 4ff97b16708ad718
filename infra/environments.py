"""The folder of environment files: which environments exist, and loading them.

Every `<name>.yaml` in the folder is an environment named by its file; there is no list of
names anywhere in code. `infra.config` is the schema each file is validated against.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.config import (
    ENVIRONMENT_NAME_PATTERN,
    REPO_ROOT,
    ConfigError,
    EnvironmentConfig,
    default_state_key,
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: the last one would win
    silently, and a merge that kept both sides of a conflict (two `image_digest:` lines) would
    deploy whichever came second."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults`: the merged keys may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the parent class says so, in one line
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(path: Path, text: str) -> object:
    """The file's YAML, or one line naming the file, the line and the problem."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.reader.ReaderError as error:
        raise ConfigError(
            f"{path}: position {error.position}: unacceptable character #x{error.character:04x}"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}: line {mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from None


def load_environment(name: str, directory: Path | None = None) -> EnvironmentConfig:
    """Read and validate one environment file."""
    path = _display(environment_file(name, directory))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: environment file not found") from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{byte:02x} at offset {error.start})"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    return parse_environment(name, parse_yaml(path, text), str(path))


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
    owners: dict[tuple[str, str], EnvironmentConfig] = {}
    for config in configs:
        where = (config.state.bucket, config.state.key)
        if where in owners:
            # Blame the file that wrote the key out (the other one may just use its default).
            first = owners[where]
            culprit, other = (first, config) if _default_key(config) else (config, first)
            raise ConfigError(
                f"{_display(environment_file(culprit.name, directory))}: state: key"
                f" s3://{where[0]}/{where[1]} is also the state of {other.name}; give"
                f" {culprit.name} its own state.key, or remove it to get"
                f" {default_state_key(culprit.name)}"
            )
        owners[where] = config
    return sorted(configs, key=pipeline_order)


def _default_key(config: EnvironmentConfig) -> bool:
    """Whether the environment's state key is the default one (no `state.key` needed)."""
    return config.state.key == default_state_key(config.name)


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
