"""The policy gate: checkov's built-in checks plus `policies/checks/`, with reviewed skips.

Decisions are pure functions over checkov's JSON report, so they are tested without running
checkov: `identify` names each finding by its construct path (stable across environments and
hashes), `apply_skips` turns failures covered by `policies/skips.yaml` into skips, and
`summarize` counts per environment. `run_checkov` is the one impure step.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gitops.errors import GitopsError
from infra.config import ENVIRONMENT_NAME_PATTERN, REPO_ROOT, ConfigError
from infra.environments import environment_names

POLICIES_DIR = REPO_ROOT / "policies"
SKIPS_FILE = POLICIES_DIR / "skips.yaml"
PCI_DSS_FILE = POLICIES_DIR / "pci_dss.yaml"
CUSTOM_CHECKS_DIR = POLICIES_DIR / "checks"
STACK_PREFIX = "fraud-detection-"
MIN_REASON_LENGTH = 20

Status = Literal["passed", "failed", "skipped"]


class Skip(BaseModel):
    """One reviewed exception: a check that does not apply, where, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^CKV2?_[A-Z0-9]+_\d+$|^CKV_FD_\d+$")
    resources: tuple[str, ...] = Field(
        min_length=1, description="Construct paths inside the stack (globs), or '*' for all."
    )
    environments: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="Where it applies; left out, every environment."
    )
    reason: str = Field(min_length=MIN_REASON_LENGTH)

    def covers(self, check_id: str, construct_path: str, environment: str | None) -> bool:
        if check_id != self.check:
            return False
        if self.environments is not None and environment not in self.environments:
            return False  # a stack of unknown environment only gets skips meant for all
        return any(fnmatch.fnmatchcase(construct_path, pattern) for pattern in self.resources)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """Read the skip list; any entry without a proper reason stops the gate with one line."""
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except FileNotFoundError:
        return []
    except UnicodeDecodeError as error:
        raise GitopsError(f"{path}: not UTF-8 (byte at offset {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}: line {mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or error.__class__.__name__
        raise GitopsError(f"{where}: invalid YAML ({problem})") from None
    if not isinstance(entries, list):
        raise GitopsError(f"{path}: expected a list of skips")
    skips = []
    for index, entry in enumerate(entries, start=1):
        label = entry.get("check", "?") if isinstance(entry, dict) else "?"
        try:
            skip = Skip.model_validate(entry)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "entry"
            problem = (
                "required: every skip needs a written reason"
                if first["type"] == "missing" and where == "reason"
                else first["msg"]
            )
            raise GitopsError(f"{path}: skip {index} ({label}): {where}: {problem}") from None
        unknown = sorted(set(skip.environments or ()) - set(_known_environments()))
        if unknown:
            raise GitopsError(
                f"{path}: skip {index} ({label}): environments: unknown {', '.join(unknown)}"
            )
        skips.append(skip)
    return skips


@dataclass(frozen=True)
class Finding:
    environment: str | None
    stack_file: Path
    check_id: str
    check_name: str
    resource: str
    """Terraform address, e.g. `aws_s3_bucket.flow-logs_bucket_46D6A62B`."""
    construct_path: str
    """Path of the construct inside the stack, e.g. `flow-logs/bucket`."""
    status: Status
    lines: tuple[int, int] = (1, 1)
    reason: str = ""
    """Why it was skipped (from the skip list)."""


@dataclass
class EnvironmentResult:
    environment: str
    stack_file: Path
    findings: list[Finding] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for finding in self.findings if finding.status == status)

    @property
    def failed(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == "failed"]


def _known_environments() -> tuple[str, ...]:
    try:
        return environment_names()
    except ConfigError as error:
        raise GitopsError(str(error)) from None


def stack_environment(stack: dict[str, Any]) -> str | None:
    name = stack.get("//", {}).get("metadata", {}).get("stackName", "")
    environment = name.removeprefix(STACK_PREFIX)
    named = name.startswith(STACK_PREFIX) and re.fullmatch(ENVIRONMENT_NAME_PATTERN, environment)
    return environment if named else None


def resource_index(stack: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """logical id -> (resource type, construct path below the stack)."""
    index = {}
    for block in ("resource", "data"):
        for resource_type, resources in stack.get(block, {}).items():
            for logical_id, body in resources.items():
                path = body.get("//", {}).get("metadata", {}).get("path", logical_id)
                index[logical_id] = (resource_type, path.split("/", 1)[-1])
    return index


def identify(
    record: dict[str, Any], status: Status, index: dict[str, tuple[str, str]], stack_file: Path,
    environment: str | None,
) -> Finding:  # fmt: skip
    """Turn one checkov record into a Finding, restoring the type checkov sometimes drops."""
    address = record["resource"]
    logical_id = address.split(".", 1)[-1]
    resource_type, construct_path = index.get(logical_id, (address.split(".", 1)[0], logical_id))
    lines = tuple(record.get("file_line_range") or (1, 1))
    return Finding(
        environment=environment,
        stack_file=stack_file,
        check_id=record["check_id"],
        check_name=record["check_name"],
        resource=f"{resource_type}.{logical_id}",
        construct_path=construct_path,
        status=status,
        lines=(int(lines[0]), int(lines[-1])),
    )


def apply_skips(findings: Iterable[Finding], skips: Sequence[Skip]) -> list[Finding]:
    """Failed findings covered by a skip become `skipped`, carrying the skip's reason."""
    result = []
    for finding in findings:
        if finding.status == "failed":
            skip = next(
                (
                    s
                    for s in skips
                    if s.covers(finding.check_id, finding.construct_path, finding.environment)
                ),
                None,
            )
            if skip:
                finding = replace(finding, status="skipped", reason=skip.reason)
        result.append(finding)
    return result


def prepare_inputs(stack_files: Sequence[Path], workdir: Path) -> dict[Path, Path]:
    """Copy each stack where checkov can parse it: checkov 3.3's terraform_json parser rejects
    scalar settings in the `terraform` block (`required_version`), which Terraform needs and
    no check reads. The copy keeps every line where it was, so reported lines stay true."""
    copies = {}
    for number, stack_file in enumerate(stack_files):
        stack = json.loads(stack_file.read_text())
        settings = stack.get("terraform", {})
        for key in [k for k, v in settings.items() if not isinstance(v, dict | list)]:
            settings[key] = {}
        target = workdir / str(number) / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(stack, indent=2))
        copies[target] = stack_file
    return copies


def checkov_binary() -> str:
    beside_python = Path(sys.executable).with_name("checkov")
    found = str(beside_python) if beside_python.exists() else shutil.which("checkov")
    if not found:
        raise GitopsError("checkov: not found; run `make install`")
    return found


_REPORT_KEYS: tuple[tuple[Status, str], ...] = (
    ("passed", "passed_checks"), ("failed", "failed_checks"), ("skipped", "skipped_checks"),
)  # fmt: skip
"""Each status and the key of checkov's `results` that lists its checks."""


def run_checkov(
    stack_files: Sequence[Path],
) -> list[tuple[Path, dict[str, Any], list[tuple[Status, dict[str, Any]]]]]:
    """Run checkov once over every stack; returns (stack file, stack JSON, records) per stack."""
    with tempfile.TemporaryDirectory(prefix="gitops-check-") as scratch:
        copies = prepare_inputs(stack_files, Path(scratch))
        command = [
            checkov_binary(), "--framework", "terraform_json", "--skip-download", "--compact",
            "-o", "json", "-d", scratch,
        ]  # fmt: skip
        if any(CUSTOM_CHECKS_DIR.glob("*.py")):
            command += ["--external-checks-dir", str(CUSTOM_CHECKS_DIR)]
        env = {**os.environ, "LOG_LEVEL": "ERROR", "BC_SKIP_MAPPING": "TRUE"}
        completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if completed.returncode not in (0, 1):
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise GitopsError(f"checkov failed (exit {completed.returncode}): {last}")
        reports = _json_documents(completed.stdout)
        per_stack: dict[Path, list[tuple[Status, dict[str, Any]]]] = {copy: [] for copy in copies}
        for framework_report in reports:
            results = framework_report.get("results", {})
            for status, key in _REPORT_KEYS:
                for record in results.get(key, []):
                    copy = Path(record["file_abs_path"])
                    if copy in per_stack:
                        per_stack[copy].append((status, record))
        return [
            (original, json.loads(original.read_text()), per_stack[copy])
            for copy, original in copies.items()
        ]


def _json_documents(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON report per scanned folder, back to back (or a list of them)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            raise GitopsError("checkov printed no JSON report; run it by hand to see why") from None
        documents.extend(document if isinstance(document, list) else [document])
    if not documents:
        raise GitopsError("checkov printed no JSON report; run it by hand to see why")
    return documents


def evaluate(stack_files: Sequence[Path], skips: Sequence[Skip]) -> list[EnvironmentResult]:
    results = []
    for stack_file, stack, records in run_checkov(stack_files):
        environment = stack_environment(stack)
        index = resource_index(stack)
        findings = [
            identify(record, status, index, stack_file, environment) for status, record in records
        ]
        label = environment or str(stack_file.parent)
        findings.sort(key=lambda f: (f.check_id, f.resource))
        results.append(EnvironmentResult(label, stack_file, apply_skips(findings, skips)))
    return results


@dataclass(frozen=True)
class Requirement:
    """One PCI DSS requirement and the checks that enforce it (policies/pci_dss.yaml)."""

    id: str
    title: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class RequirementStatus:
    requirement: Requirement
    covered: bool
    """At least one of its checks ran (passed, failed or was skipped) on some stack."""
    failed_checks: tuple[str, ...]
    """Its checks with a failed finding in any environment."""

    @property
    def passing(self) -> bool:
        return not self.failed_checks


def load_pci_map(path: Path = PCI_DSS_FILE) -> list[Requirement]:
    """Read the PCI DSS map; a missing file means no map (and no PCI lines in the summary)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    except yaml.YAMLError as error:
        raise GitopsError(f"{path}: invalid YAML ({error.__class__.__name__})") from None
    try:
        return [
            Requirement(str(key), str(body["title"]).strip(), tuple(body["checks"]))
            for key, body in document["requirements"].items()
        ]
    except (KeyError, TypeError, AttributeError):
        raise GitopsError(f"{path}: expected requirements: {{id: {{title, checks}}}}") from None


def pci_coverage(
    results: Sequence[EnvironmentResult], requirements: Sequence[Requirement]
) -> list[RequirementStatus]:
    """Which PCI DSS requirements the run covered and which of them failed.

    Pure over the findings, so the gate can say in one line which requirements a failure puts at
    risk, and a requirement whose checks all stopped running (renamed, not applicable any more)
    shows up as uncovered instead of silently passing."""
    ran = {finding.check_id for result in results for finding in result.findings}
    failed = {finding.check_id for result in results for finding in result.failed}
    return [
        RequirementStatus(
            requirement,
            covered=any(check in ran for check in requirement.checks),
            failed_checks=tuple(check for check in requirement.checks if check in failed),
        )
        for requirement in requirements
    ]


def pci_lines(statuses: Sequence[RequirementStatus]) -> list[str]:
    if not statuses:
        return []
    covered = [s for s in statuses if s.covered]
    passing = [s for s in covered if s.passing]
    uncovered = [s.requirement.id for s in statuses if not s.covered]
    lines = [
        f"PCI DSS: {len(covered)}/{len(statuses)} requirements covered, {len(passing)} passing"
        + (f" (not covered: {', '.join(uncovered)})" if uncovered else "")
    ]
    for status in covered:
        if not status.passing:
            lines.append(
                f"  PCI DSS {status.requirement.id} FAILING ({', '.join(status.failed_checks)}): "
                f"{status.requirement.title}"
            )
    return lines


def summary_lines(
    results: Sequence[EnvironmentResult], requirements: Sequence[Requirement] | None = None
) -> list[str]:
    """Counts and failures per environment, then PCI DSS coverage (map: policies/pci_dss.yaml)."""
    requirements = load_pci_map() if requirements is None else requirements
    lines = []
    for result in results:
        lines.append(
            f"{result.environment}: {result.count('passed')} passed, {result.count('failed')} "
            f"failed, {result.count('skipped')} skipped"
        )
        for finding in result.failed:
            lines.append(
                f"  FAILED {finding.check_id} {finding.check_name}: {finding.resource} "
                f"({finding.construct_path})"
            )
    return lines + pci_lines(pci_coverage(results, requirements))
