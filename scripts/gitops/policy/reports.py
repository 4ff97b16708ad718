"""SARIF (code scanning) and JUnit (test report) files of a policy gate run.

Both are written from the gate's own verdicts, after skips, so they agree with its exit code:
a skipped finding is a suppressed SARIF result carrying its reason, and a skipped JUnit case.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from gitops.paths import write_atomically
from gitops.policy.gate import EnvironmentResult, Finding, load_pci_map, pci_coverage
from infra.config import REPO_ROOT

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SUMMARY_FILE = "policy-summary.txt"


def one_line_summary(results: Sequence[EnvironmentResult]) -> str:
    """Counts over every stack and the PCI DSS coverage, as the plan comment shows them."""
    passed, failed, skipped = (
        sum(result.count(status) for result in results)
        for status in ("passed", "failed", "skipped")
    )
    statuses = pci_coverage(results, load_pci_map())
    covered = [status for status in statuses if status.covered]
    passing = sum(1 for status in covered if status.passing)
    return (
        f"{passed} passed, {failed} failed, {skipped} skipped over {len(results)} stack(s);"
        f" PCI DSS: {len(covered)}/{len(statuses)} requirements covered, {passing} passing"
    )


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def sarif(results: Sequence[EnvironmentResult]) -> dict[str, Any]:
    reported = [f for r in results for f in r.findings if f.status in ("failed", "skipped")]
    rules = {f.check_id: f.check_name for f in reported}

    def result(finding: Finding) -> dict[str, Any]:
        entry = {
            "ruleId": finding.check_id,
            "level": "error",
            "message": {
                "text": f"{finding.check_name} ({finding.environment}: {finding.construct_path})"
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _relative(finding.stack_file)},
                        "region": {"startLine": finding.lines[0], "endLine": finding.lines[1]},
                    },
                    "logicalLocations": [{"fullyQualifiedName": finding.resource}],
                }
            ],
        }
        if finding.status == "skipped":
            entry["suppressions"] = [{"kind": "external", "justification": finding.reason}]
        return entry

    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gitops check (checkov)",
                        "informationUri": "https://www.checkov.io/",
                        "rules": [
                            {"id": check_id, "shortDescription": {"text": name}}
                            for check_id, name in sorted(rules.items())
                        ],
                    }
                },
                "results": [result(f) for f in reported],
            }
        ],
    }


def junit(results: Sequence[EnvironmentResult]) -> ElementTree.ElementTree:
    suites = ElementTree.Element("testsuites", name="policy gate")
    for env_result in results:
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=f"policy.{env_result.environment}",
            tests=str(len(env_result.findings)),
            failures=str(env_result.count("failed")),
            skipped=str(env_result.count("skipped")),
        )
        for finding in env_result.findings:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"policy.{env_result.environment}.{finding.check_id}",
                name=f"{finding.check_id} {finding.construct_path}",
            )
            if finding.status == "failed":
                ElementTree.SubElement(
                    case, "failure", message=finding.check_name, type=finding.check_id
                ).text = finding.resource
            elif finding.status == "skipped":
                ElementTree.SubElement(case, "skipped", message=finding.reason)
    return ElementTree.ElementTree(suites)


def write_reports(results: Sequence[EnvironmentResult], directory: Path) -> tuple[Path, Path]:
    """Write `policy.sarif`, `policy-junit.xml` and the one-line `policy-summary.txt` (which the
    plan comment quotes) atomically; returns the first two paths."""
    directory.mkdir(parents=True, exist_ok=True)
    sarif_path, junit_path = directory / "policy.sarif", directory / "policy-junit.xml"
    temporary = sarif_path.with_suffix(".sarif.tmp")
    temporary.write_text(json.dumps(sarif(results), indent=2) + "\n")
    os.replace(temporary, sarif_path)
    temporary = junit_path.with_suffix(".xml.tmp")
    junit(results).write(temporary, encoding="utf-8", xml_declaration=True)
    os.replace(temporary, junit_path)
    write_atomically(directory / SUMMARY_FILE, one_line_summary(results) + "\n")
    return sarif_path, junit_path
