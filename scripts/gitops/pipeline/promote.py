"""`gitops promote --from ENV --to ENV`: move a release one wave forward, file by file.

A release is the `release:` section of an environment file (the fields of `ReleaseConfig`).
Promotion copies those values, and nothing else, into the next environment's file. The file
is edited as text, line by line inside its `release:` block, because it is written by people:
a YAML round trip would drop their comments and reflow everything else. The edited text is
validated with the same schema as any environment file before it replaces the original, so a
promotion either lands whole or leaves the file as it was.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops.errors import GitopsError, UsageError
from gitops.pipeline.promotion_path import targets
from infra.config import REPO_ROOT, ConfigError, EnvironmentConfig, parse_environment
from infra.environments import DEFAULT_ENVIRONMENTS_DIR, environment_file, load_environment
from infra.release_config import ReleaseConfig

RELEASE_FIELDS: tuple[str, ...] = tuple(ReleaseConfig.model_fields)
"""What travels with a release, straight from the schema so a new field travels too."""

_RELEASE_HEADER = re.compile(r"^release:[ \t]*(#.*)?$")
_KEY_LINE = re.compile(r"^(?P<indent>[ \t]+)(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
_UNSAFE_IN_BRANCH = re.compile(r"[^0-9A-Za-z._-]+")

Change = tuple[str, Any, Any]
"""(field, value in the target before, value it gets from the source)."""


@dataclass(frozen=True)
class PromotionResult:
    """What a promotion changes (or, for a dry run, would change) in the target file."""

    from_env: str
    to_env: str
    target_path: Path
    release: ReleaseConfig
    """The release the target runs after promotion (the source's)."""
    changes: tuple[Change, ...]

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(field for field, _, _ in self.changes)

    def branch_name(self) -> str:
        """`promote/<to>/<version>-<digest8>`: one branch per release and target, safe for git."""
        version = _UNSAFE_IN_BRANCH.sub("-", self.release.app_version)
        version = re.sub(r"\.{2,}", ".", version).strip(".-") or "release"
        return f"promote/{self.to_env}/{version}-{_short_digest(self.release.image_digest)}"

    def pr_title(self) -> str:
        return (
            f"Promote {self.release.app_version} ({_short_digest(self.release.image_digest)})"
            f" from {self.from_env} to {self.to_env}"
        )

    def pr_body(self) -> str:
        """Markdown for the pull request: what moves, and how it reaches the environment."""
        rows = [f"| `{field}` | {_cell(new)} | {_cell(old)} |" for field, old, new in self.changes]
        return "\n".join(
            [
                f"# {self.pr_title()}",
                "",
                f"Copies the `release:` section of `{self.from_env}` into"
                f" `{_display(self.target_path)}`; nothing else in the file changes.",
                "",
                f"| field | {self.from_env} now | {self.to_env} before |",
                "| --- | --- | --- |",
                *rows,
                "",
                "This pull request takes the normal path of any infrastructure change: CI plans"
                f" `{self.to_env}` on it, a reviewer reads that plan and approves, and merging to"
                f" `main` applies it to `{self.to_env}` through the `{self.to_env}` GitHub"
                " environment and its protection rules. Nothing is deployed before the merge.",
                "",
            ]
        )


def plan_promotion(from_env: str, to_env: str, directory: Path | None = None) -> PromotionResult:
    """What `promote` would change, validated but not written (the dry run)."""
    result, original, edited = _prepare(from_env, to_env, directory)
    _validate_candidate(edited, original, result)
    return result


def promote(from_env: str, to_env: str, directory: Path | None = None) -> PromotionResult:
    """Copy the source's release into the target file, atomically and only if it validates."""
    result, original, edited = _prepare(from_env, to_env, directory)
    _replace_validated(result.target_path, edited, original, result)
    return result


def check_promotion_path(from_env: str, to_env: str, directory: Path | None = None) -> None:
    """Refuse anything but one step forward, from one wave to the next, in one line."""
    targets(from_env, to_env, "environment", directory)


def _prepare(
    from_env: str, to_env: str, directory: Path | None
) -> tuple[PromotionResult, EnvironmentConfig, str]:
    """Check the path, load both files, and compute the target's edited text."""
    check_promotion_path(from_env, to_env, directory)
    source, target = _load(from_env, directory), _load(to_env, directory)
    changes = tuple(
        (field, getattr(target.release, field), getattr(source.release, field))
        for field in RELEASE_FIELDS
        if getattr(target.release, field) != getattr(source.release, field)
    )
    if not changes:
        raise UsageError(
            f"nothing to promote: {to_env} already runs {from_env}'s release"
            f" {source.release.app_version} ({_short_digest(source.release.image_digest)})"
        )
    target_path = environment_file(to_env, directory)
    result = PromotionResult(from_env, to_env, target_path, source.release, changes)
    text = _read_text(target_path)
    edited = edit_release_block(text, {field: new for field, _, new in changes}, target_path)
    return result, target, edited


def _load(name: str, directory: Path | None) -> EnvironmentConfig:
    try:
        return load_environment(name, directory)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _read_text(path: Path) -> str:
    """The file's exact text: bytes decoded without newline translation, so CRLF survives."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GitopsError(f"{path}: cannot read ({error})") from None


def edit_release_block(text: str, values: dict[str, Any], path: Path) -> str:
    """`text` with the named fields of its top-level `release:` block set to `values`.

    Only the value part of each `key: value` line changes; indentation, quoting style and a
    trailing comment stay. A field with no line yet is added after the block's last field.
    """
    lines = text.splitlines(keepends=True)
    start, end = _release_block(lines, path)
    key_lines: dict[str, int] = {}
    indent: str | None = None
    for number in range(start + 1, end):
        line = lines[number].rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY_LINE.match(line)
        if match is None or (indent is not None and match["indent"] != indent):
            raise GitopsError(
                f"{path}: line {number + 1}: the release: block must be flat `key: value`"
                " lines for gitops promote to edit it"
            )
        indent = match["indent"]
        key_lines[match["key"]] = number
    last_key_line = max(key_lines.values(), default=start)
    newline = _newline_of(lines[start])
    added: list[str] = []
    for field, value in values.items():
        if field in key_lines:
            number = key_lines[field]
            lines[number] = _with_value(lines[number], value, path, number)
        else:
            added.append(f"{indent or '  '}{field}: {_yaml_scalar(value, '')}{newline}")
    if added and not lines[last_key_line].endswith("\n"):
        lines[last_key_line] += newline
    lines[last_key_line + 1 : last_key_line + 1] = added
    return "".join(lines)


def _release_block(lines: list[str], path: Path) -> tuple[int, int]:
    """(header line, first line after the block): the block runs while lines are indented."""
    headers = [n for n, line in enumerate(lines) if _RELEASE_HEADER.match(line.rstrip("\r\n"))]
    if len(headers) != 1:
        found = "no" if not headers else "more than one"
        raise GitopsError(f"{path}: {found} top-level `release:` block line to edit")
    start = headers[0]
    end = start + 1
    while end < len(lines):
        line = lines[end].rstrip("\r\n")
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            break
        end += 1
    # Blank lines and column-0 comments before the next section belong to that section.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end


def _with_value(line: str, value: Any, path: Path, number: int) -> str:
    """`line` with its value replaced, keeping indentation, quote style and trailing comment."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    match = _KEY_LINE.match(body)
    assert match is not None  # only key lines reach here
    rest = match["rest"]
    value_text = rest.lstrip(" \t")
    gap = rest[: len(rest) - len(value_text)] or " "
    old_scalar = _scalar_prefix(value_text)
    if not old_scalar:
        raise GitopsError(
            f"{path}: line {number + 1}: {match['key']}: needs its value on the same line"
            " for gitops promote to edit it"
        )
    comment = value_text[len(old_scalar) :]
    style = old_scalar[0] if old_scalar[0] in "\"'" else ""
    return f"{match['indent']}{match['key']}:{gap}{_yaml_scalar(value, style)}{comment}{ending}"


def _scalar_prefix(value_text: str) -> str:
    """The scalar at the start of `value_text`, without any trailing comment."""
    if value_text.startswith('"'):
        index = 1
        while index < len(value_text):
            if value_text[index] == "\\":
                index += 2
                continue
            if value_text[index] == '"':
                return value_text[: index + 1]
            index += 1
        return value_text
    if value_text.startswith("'"):
        index = 1
        while index < len(value_text):
            if value_text[index] == "'":
                if value_text[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                return value_text[: index + 1]
            index += 1
        return value_text
    comment = re.search(r"[ \t]#", value_text)
    scalar = value_text[: comment.start()] if comment else value_text
    return scalar.rstrip(" \t")


def _yaml_scalar(value: Any, style: str) -> str:
    """`value` as YAML in the line's quote style when that style reads back as the same value."""
    candidates: list[str] = []
    if isinstance(value, str):
        if style == "'":
            candidates.append("'" + value.replace("'", "''") + "'")
        elif not style:
            candidates.append(value)
    candidates.append(json.dumps(value))  # JSON scalars are YAML; the always-safe fallback
    for candidate in candidates:
        try:
            if yaml.safe_load(f"key: {candidate}") == {"key": value}:
                return candidate
        except yaml.YAMLError:
            continue
    return candidates[-1]


def _newline_of(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"


def _validate_candidate(text: str, original: EnvironmentConfig, result: PromotionResult) -> None:
    """The edited text must pass the schema, carry the new release, and change nothing else."""
    path = result.target_path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise GitopsError(f"{path}: {problem} (after promotion; file unchanged)") from None
    try:
        edited = parse_environment(result.to_env, data, str(path))
    except ConfigError as error:
        raise GitopsError(f"{error} (after promotion; file unchanged)") from None
    if edited.release != result.release:
        raise GitopsError(
            f"{path}: the edited release: block does not read back as"
            f" {_release_text(result.release)}; file unchanged"
        )
    if edited.model_copy(update={"release": original.release}) != original:
        raise GitopsError(
            f"{path}: editing the release: block would change other sections; file unchanged"
        )


def _replace_validated(
    path: Path, text: str, original: EnvironmentConfig, result: PromotionResult
) -> None:
    """Write beside the target, validate what is on disk, then swap it in with one rename."""
    try:
        mode = path.stat().st_mode & 0o777
        descriptor, temporary_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".promote"
        )
    except OSError as error:
        raise GitopsError(f"{path}: cannot write beside it ({error.strerror})") from None
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        _validate_candidate(_read_text(temporary), original, result)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise GitopsError(f"{path}: cannot write ({error.strerror}); file unchanged") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _short_digest(digest: str) -> str:
    return digest.removeprefix("sha256:")[:8]


def _release_text(release: ReleaseConfig) -> str:
    return ", ".join(f"{field}={getattr(release, field)!r}" for field in RELEASE_FIELDS)


def _cell(value: Any) -> str:
    """A markdown table cell: code-formatted, with pipes escaped."""
    return f"`{value}`".replace("|", "\\|")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path.name


def repository_path(path: Path) -> str:
    """Where the edited file lives in the repository, even when edited in another folder
    (`GITOPS_ENVIRONMENTS_DIR`): the pull request must change `environments/<env>.yaml`."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return f"{DEFAULT_ENVIRONMENTS_DIR.name}/{path.name}"
