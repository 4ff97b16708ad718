"""The workflows against the rules the repository promises, and against the real `gitops` CLI:
a renamed flag or command breaks here, not on GitHub after a merge."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitops.cli import build_parser

from infra.config import REPO_ROOT
from infra.environments import DEFAULT_ENVIRONMENTS_DIR, environment_names
from infra.pipeline_settings import MAX_WAVES
from infra.versions import TERRAFORM_VERSION

GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB_DIR / "workflows").glob("*.yml"))
PYTHON_VERSION = "3.11"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in [*WORKFLOWS, *GITHUB_DIR.glob("actions/*/action.yml")]:
        document = load(path)
        jobs = document.get("jobs", {}).values()
        steps = [step for job in jobs for step in job.get("steps", [])]
        steps += document.get("runs", {}).get("steps", [])
        found += [(path.name, step) for step in steps]
    return found


def uses_lines() -> list[str]:
    lines = []
    for path in [*WORKFLOWS, *GITHUB_DIR.glob("actions/*/action.yml")]:
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*(?:- )?uses: (.+)$", line)
            if match:
                lines.append(match.group(1).strip())
    return lines


def test_the_four_workflows_exist_and_none_uses_dangerous_triggers() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"pr.yml", "deploy.yml", "promote.yml", "drift.yml"} <= names
    for path in WORKFLOWS:
        triggers = load(path)[True]  # YAML 1.1 reads the key `on` as True
        assert "pull_request_target" not in triggers and "workflow_run" not in triggers
        assert load(path)["permissions"] == {}, f"{path.name}: permissions: {{}} at the top"


def test_third_party_actions_are_pinned_by_sha_with_their_version() -> None:
    external = [line for line in uses_lines() if not line.startswith("$/")]
    assert external, "no third-party action found"
    unpinned = [line for line in external if not PINNED.match(line)]
    assert unpinned == []


def test_versions_match_the_repository_pins() -> None:
    for where, step in all_steps():
        settings = step.get("with", {})
        if "terraform_version" in settings:
            assert settings["terraform_version"] == TERRAFORM_VERSION, where
        if "python-version" in settings:
            assert settings["python-version"] == PYTHON_VERSION, where
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert settings.get("persist-credentials") is False, where


def test_every_job_is_bounded_in_time_and_runs_no_untrusted_expansion() -> None:
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "uses" not in job:  # a reusable workflow's caller takes no timeout
                assert "timeout-minutes" in job, f"{path.name}: job {name}"
    for where, step in all_steps():
        assert "${{" not in step.get("run", ""), f"{where}: pass values through env"


STAND_INS = {
    "TARGET_ENV": "dev", "FROM_ENV": "dev", "TO_ENV": "staging", "PR_NUMBER": "1",
    "HEAD_SHA": "0" * 40, "GITHUB_SHA": "0" * 40, "IMAGE_DIGEST": "sha256:" + "0" * 64,
    "APP_VERSION": "1.5.0", "SCOPE": "wave",
}  # fmt: skip
"""A plausible value for each variable the workflows pass to `gitops`."""


def gitops_calls() -> list[tuple[str, list[str]]]:
    calls = []
    for where, step in all_steps():
        command = " ".join(step.get("run", "").split())
        if command.startswith(".venv/bin/gitops "):
            command = re.sub(r'"\$(\w+)"', lambda m: STAND_INS[m.group(1)], command)
            calls.append((where, shlex.split(command)[1:]))
    return calls


@pytest.mark.parametrize(("where", "words"), gitops_calls(), ids=lambda value: str(value))
def test_every_gitops_call_in_a_workflow_parses_with_the_real_cli(where, words) -> None:
    build_parser().parse_args(words)  # exits with status 2 on an unknown command or flag


def test_the_workflows_call_what_the_pipeline_needs() -> None:
    commands = {words[0] for _, words in gitops_calls()}
    assert {
        "synth",
        "check",
        "plan",
        "comment",
        "deploy",
        "drift",
        "promote",
        "release",
    } <= commands


def strings(node: Any) -> list[str]:
    """Every key and value of a parsed YAML document that is text."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (*strings(key), *strings(value))]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


def literal_environment_names(text: str, names: tuple[str, ...]) -> list[str]:
    """Environment names written as a word of their own (`dev`, not `devices` or `${{ env }}`)."""
    pattern = re.compile(rf"(?<![\w.-])({'|'.join(map(re.escape, names))})(?![\w-])")
    return pattern.findall(text)


def test_the_literal_name_scan_would_catch_one() -> None:
    names = ("dev", "staging", "prod", "local")
    assert literal_environment_names("environment: prod", names) == ["prod"]
    assert literal_environment_names("plan_role: ${{ vars.ROLE }} # dev only", names) == ["dev"]
    assert literal_environment_names("production devices locale deploy-${{ x }}", names) == []


@pytest.mark.parametrize("path", [*WORKFLOWS, *GITHUB_DIR.glob("actions/*/action.yml")],
                         ids=lambda path: path.name)  # fmt: skip
def test_no_workflow_names_an_environment(path: Path) -> None:
    """Environments come from `gitops environments`; a name written here would go stale."""
    names = environment_names(DEFAULT_ENVIRONMENTS_DIR)
    found = []
    for text in [*strings(load(path)), *re.findall(r"#(.*)$", path.read_text(), re.MULTILINE)]:
        found += [
            f"{name!r} in {text.strip()!r}" for name in literal_environment_names(text, names)
        ]
    assert found == []


def test_deploy_has_one_job_per_possible_wave_each_after_the_one_before() -> None:
    jobs = load(GITHUB_DIR / "workflows" / "deploy.yml")["jobs"]
    waves = [name for name in jobs if name.startswith("wave-")]
    assert waves == [f"wave-{n}" for n in range(1, MAX_WAVES + 1)]
    synth_outputs = jobs["synth"]["outputs"]
    for n in range(1, MAX_WAVES + 1):
        job = jobs[f"wave-{n}"]
        assert job["strategy"]["matrix"] == f"${{{{ fromJSON(needs.synth.outputs.wave_{n}) }}}}"
        assert synth_outputs[f"wave_{n}"] == f"${{{{ steps.environments.outputs.wave_{n} }}}}"
        assert job["strategy"]["fail-fast"] is False, "never cancel a running apply"
        assert f"contains(fromJSON(needs.synth.outputs.waves), {n})" in job["if"]
        if n > 1:
            assert job["needs"] == ["synth", f"wave-{n - 1}"]
            assert "!failure()" in job["if"], "a failed wave stops the later ones"
        assert job["with"]["environment"] == "${{ matrix.environment }}"


def steps_using(action: str) -> list[tuple[str, dict[str, Any]]]:
    """Every step of every workflow and action that uses `action` (`owner/name@`)."""
    return [(where, step) for where, step in all_steps()
            if str(step.get("uses", "")).startswith(f"{action}@")]  # fmt: skip


def test_every_upload_replaces_the_artifact_of_an_earlier_attempt() -> None:
    """A re-run of failed jobs uploads the same artifact names again; without `overwrite` the
    upload answers 409 and the re-run fails where the first attempt did not."""
    uploads = steps_using("actions/upload-artifact")
    assert len(uploads) >= 5
    assert [where for where, step in uploads if step["with"].get("overwrite") is not True] == []
