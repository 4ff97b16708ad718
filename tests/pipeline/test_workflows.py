"""The workflows against the rules the repository promises, and against the real `gitops` CLI:
a renamed flag or command breaks here, not on GitHub after a merge."""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import subprocess
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitops.cli import build_parser
from gitops.pipeline.commands import PLAN_SUMMARY
from gitops.pipeline.environments import deployed
from gitops.stacks import load_configs

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


RERUN_DAYS = 7
"""How long after a run its failed jobs can still be re-run on the artifacts they download."""


def test_artifacts_another_job_downloads_outlive_a_week_of_reruns() -> None:
    """ "Re-run failed jobs" downloads the first attempt's artifacts: a one-day synth artifact
    turns a re-run of yesterday's failed plan into a missing-artifact failure."""
    short = []
    for path in WORKFLOWS:
        steps = [(job, step) for job, body in (load(path).get("jobs") or {}).items()
                 for step in body.get("steps", [])]  # fmt: skip
        download = "actions/download-artifact@"
        downloads = [step["with"] for _, step in steps
                     if str(step.get("uses", "")).startswith(download)]  # fmt: skip
        wanted = [settings.get("name") or settings.get("pattern", "") for settings in downloads]
        for job, step in steps:
            if not str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                continue
            name = step["with"]["name"].replace("${{ matrix.environment }}", "dev")
            downloaded = any(fnmatchcase(name, pattern) for pattern in wanted)
            if downloaded and int(step["with"].get("retention-days", 90)) < RERUN_DAYS:
                short.append(f"{path.name}: {job}: {name}")
    assert short == []


def artifact_paths(upload_path: str, files: list[str]) -> list[str]:
    """The paths inside an artifact that upload-artifact makes of `files`: relative to the
    folder before the pattern's first wildcard (to its own folder for one plain file)."""
    parts = upload_path.split("/")
    wild = next((n for n, part in enumerate(parts) if re.search(r"[*?\[]", part)), None)
    root = posixpath.dirname(upload_path) if wild is None else "/".join(parts[:wild])
    return [posixpath.relpath(file, root) for file in files]


def downloaded_files(settings: dict[str, Any], artifacts: dict[str, list[str]]) -> set[str]:
    """Where download-artifact (v5 and later) extracts what it downloads: into `path/` itself
    when it downloads by `name`, merges, or its `pattern` matches one artifact; into
    `path/<artifact name>/` when a pattern matches several and nothing merges."""
    if "name" in settings:
        matched = {settings["name"]: artifacts[settings["name"]]}
    else:
        matched = {n: f for n, f in artifacts.items() if fnmatchcase(n, settings["pattern"])}
    flat = "name" in settings or settings.get("merge-multiple") is True or len(matched) == 1
    path = settings.get("path", ".")
    return {
        posixpath.join(path, *([] if flat else [name]), inner)
        for name, inner_paths in matched.items()
        for inner in inner_paths
    }


def test_the_download_model_puts_one_pattern_match_into_the_path_itself() -> None:
    artifacts = {"plan-dev": ["fraud-detection-dev/plan-summary.json"], "policy": ["p.txt"]}
    unmerged = {"pattern": "plan-*", "path": "plans"}
    assert downloaded_files(unmerged, artifacts) == {"plans/fraud-detection-dev/plan-summary.json"}
    artifacts["plan-prod"] = ["fraud-detection-prod/plan-summary.json"]
    assert "plans/plan-prod/fraud-detection-prod/plan-summary.json" in downloaded_files(
        unmerged, artifacts
    )
    assert artifact_paths("reports/policy-summary.txt", ["reports/policy-summary.txt"]) == [
        "policy-summary.txt"
    ]


def test_every_download_lands_in_one_layout_however_many_artifacts_match() -> None:
    """By name, or a pattern with merge-multiple: never a layout that changes when one plan
    job is left (download-artifact v5+ extracts a single match into `path/` itself)."""
    downloads = steps_using("actions/download-artifact")
    assert downloads
    for where, step in downloads:
        settings = step["with"]
        assert "name" in settings or settings.get("merge-multiple") is True, where


def job_steps(job: dict[str, Any], *, uses: str = "", runs: str = "") -> list[dict[str, Any]]:
    """The steps of `job` that use the action `uses` or whose command starts with `runs`."""
    return [
        step for step in job["steps"]
        if (uses and str(step.get("uses", "")).startswith(f"{uses}@"))
        or (runs and " ".join(step.get("run", "").split()).startswith(runs))
    ]  # fmt: skip


@pytest.mark.parametrize("succeeded", [0, 1, 2, None], ids=["none", "one", "two", "all"])
def test_the_comment_job_reads_every_plan_summary_where_the_plans_left_it(succeeded) -> None:
    """Whatever number of plan legs succeeded, each one's summary is where `gitops comment
    --plans-dir` reads it: a summary in the wrong folder would be reported as a failed plan."""
    jobs = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]
    (upload,) = [step["with"] for step in job_steps(jobs["plan"], uses="actions/upload-artifact")]
    (download,) = [
        step["with"]
        for step in job_steps(jobs["comment"], uses="actions/download-artifact")
        if step["with"].get("name") != "policy"
    ]
    (comment,) = [s["run"].split() for s in job_steps(jobs["comment"], runs=".venv/bin/gitops")]
    plans_dir = comment[comment.index("--plans-dir") + 1]
    legs = deployed(load_configs([]))[:succeeded]
    artifacts = {"synth": ["fraud-detection-dev/cdk.tf.json"], "policy": ["policy-summary.txt"]}
    for config in legs:
        name = upload["name"].replace("${{ matrix.environment }}", config.name)
        written = f"cdktf.out/stacks/{config.stack_name}/{PLAN_SUMMARY}"
        artifacts[name] = artifact_paths(upload["path"], [written])
    expected = {f"{plans_dir}/{config.stack_name}/{PLAN_SUMMARY}" for config in legs}
    assert downloaded_files(download, artifacts) == expected


def test_no_job_that_can_wait_for_reviewers_depends_on_an_artifact() -> None:
    """A job in a GitHub environment can wait up to 30 days for its reviewers, and "Re-run job"
    can come later still: an artifact it downloaded could be gone by then. The deploy job
    synthesizes its own environment instead (`gitops deploy` without --no-synth)."""
    waiting = [
        (f"{path.name}: job {name}", job)
        for path in WORKFLOWS
        for name, job in load(path)["jobs"].items()
        if "environment" in job
    ]
    assert "deploy-environment.yml: job deploy" in dict(waiting)
    for where, job in waiting:
        assert job_steps(job, uses="actions/download-artifact") == [], where
    deploys = [words for _, words in gitops_calls() if words[0] == "deploy"]
    assert deploys and [words for words in deploys if "--no-synth" in words] == []


def test_a_pull_requests_plan_job_checks_its_reviewers_before_it_has_credentials() -> None:
    """The plan job runs in the GitHub environment its plan role trusts (`<env>-plan`, from the
    matrix), and `gitops plan-reviewers` refuses before the credentials step where the file asks
    for reviewers that environment lacks; the job's token may read the environment's rules."""
    job = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]["plan"]
    assert job["environment"] == "${{ matrix.github_environment }}"
    permissions = job["permissions"]
    assert permissions["actions"] == "read"
    assert permissions["id-token"] == "write"  # pragma: allowlist secret
    names = [step.get("name") or step["uses"] for step in job["steps"]]
    assert names.index("gitops plan-reviewers") < names.index("Assume the plan role")
    (check,) = [step for step in job["steps"] if step.get("name") == "gitops plan-reviewers"]
    assert check["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


APPROVAL_WAIT_DAYS = 30
"""How long GitHub lets a job wait for an environment's reviewers (and a run be re-run)."""


def test_no_job_that_can_wait_for_reviewers_restores_a_cache() -> None:
    """A pull request's caches are shared by its runs: an unreviewed earlier push could have
    saved a `.venv` that the approved job would then run with the environment's role. So such
    a job turns the setup action's cache off and uses no cache of its own, and the setup
    action caches only when asked to."""
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "environment" not in job:
                continue
            steps = job.get("steps", [])
            setups = [step for step in steps if step.get("uses") == "$/.github/actions/setup"]
            assert setups, f"{path.name}: job {name}"
            for setup in setups:
                assert setup.get("with", {}).get("cache") == "false", f"{path.name}: job {name}"
            assert job_steps(job, uses="actions/cache") == [], f"{path.name}: job {name}"
            assert not [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/")]
    setup = load(GITHUB_DIR / "actions" / "setup" / "action.yml")["runs"]["steps"]
    for step in setup:
        uses = str(step.get("uses", ""))
        if uses.startswith("actions/cache"):
            assert step.get("if") == "${{ inputs.cache == 'true' }}", uses
        assert "cache" not in step.get("with", {}) or uses.startswith("actions/cache"), uses


def test_artifacts_read_after_a_job_that_waits_for_reviewers_outlive_the_wait() -> None:
    """The comment job runs after the last plan, and prod's can wait 30 days for its reviewer:
    every artifact it downloads must outlive that (GitHub re-runs nothing older)."""
    pr = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]

    def waits(name: str) -> bool:
        job = pr[name]
        needs = job.get("needs", [])
        return "environment" in job or any(
            waits(n) for n in ([needs] if isinstance(needs, str) else needs)
        )

    late = {
        settings.get("name") or settings.get("pattern", "")
        for name, job in pr.items()
        if waits(name) and "environment" not in job
        for settings in [step["with"] for step in job_steps(job, uses="actions/download-artifact")]
    }
    assert {"policy", "plan-*"} <= late
    for name, job in pr.items():
        for step in job_steps(job, uses="actions/upload-artifact"):
            uploaded = step["with"]["name"].replace("${{ matrix.environment }}", "prod")
            if any(fnmatchcase(uploaded, pattern) for pattern in late):
                days = int(step["with"].get("retention-days", 90))
                assert days > APPROVAL_WAIT_DAYS, f"pr.yml: {name}: {uploaded}"


def pr_gate_run(
    results: dict[str, str], *, fork: bool, planned: str
) -> subprocess.CompletedProcess:
    """pr.yml's pr-gate step, run by bash with its `env:` as GitHub would fill it in."""
    (step,) = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]["pr-gate"]["steps"]
    env = {"PATH": os.environ["PATH"]}
    for name, expression in step["env"].items():
        inner = expression.removeprefix("${{").removesuffix("}}").strip()
        if inner == "github.event.pull_request.head.repo.full_name != github.repository":
            env[name] = "true" if fork else "false"
        elif inner == "needs.synth.outputs.planned":
            env[name] = planned
        else:
            job = re.fullmatch(r"needs\.([\w-]+)\.result", inner)
            assert job, f"pr-gate env {name}: {expression} is not modelled here"
            env[name] = results[job.group(1)]
    script = "set -eo pipefail\n" + step["run"]  # GitHub's `bash -e {0}` for a bash run
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)


SAME_REPOSITORY = {
    "test": "success", "synth": "success", "policy": "success", "plan": "success",
    "comment": "success", "fork-summary": "skipped", "rehearse": "success",
}  # fmt: skip
FORK = SAME_REPOSITORY | {"plan": "skipped", "comment": "skipped", "fork-summary": "success"}


def test_pr_gate_needs_every_job_and_always_runs() -> None:
    """Required checks: one aggregate job, since a skipped matrix job never reports `plan
    <env>` and a skipped required job would count as passed."""
    jobs = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]
    gate = jobs["pr-gate"]
    assert gate["name"] == "pr-gate"
    assert sorted(gate["needs"]) == sorted(set(jobs) - {"pr-gate"}) == sorted(SAME_REPOSITORY)
    assert gate["if"] == "${{ always() }}"
    assert gate["permissions"] == {}


@pytest.mark.parametrize(
    ("results", "fork", "planned"),
    [(SAME_REPOSITORY, False, '["dev"]'), (FORK, True, '["dev"]'),
     (SAME_REPOSITORY | {"plan": "skipped"}, False, "[]")],
    ids=["same-repository", "fork", "nothing-planned"],
)  # fmt: skip
def test_pr_gate_passes_when_every_job_passed_or_was_skipped_as_expected(
    results, fork, planned
) -> None:
    passed = pr_gate_run(results, fork=fork, planned=planned)
    assert passed.returncode == 0, passed.stdout + passed.stderr


@pytest.mark.parametrize(
    ("changed", "fork"),
    [({"plan": "failure"}, False), ({"plan": "cancelled"}, False), ({"test": "failure"}, False),
     ({"synth": "failure", "policy": "skipped", "plan": "skipped", "comment": "skipped"}, False),
     ({"policy": "failure", "comment": "skipped"}, False), ({"rehearse": "cancelled"}, False),
     ({"plan": "skipped"}, False), ({"comment": "failure"}, False),
     ({"fork-summary": "failure"}, True), ({"fork-summary": "skipped"}, True)],
    ids=lambda value: str(value),
)  # fmt: skip
def test_pr_gate_fails_when_a_job_failed_was_cancelled_or_skipped_wrongly(changed, fork) -> None:
    results = (FORK if fork else SAME_REPOSITORY) | changed
    failed = pr_gate_run(results, fork=fork, planned='["dev"]')
    assert failed.returncode == 1, failed.stdout
    for job, result in changed.items():
        if result in ("failure", "cancelled"):
            assert f"::error title=pr-gate::{job}: {result}" in failed.stdout


def test_a_sarif_upload_refused_for_want_of_code_scanning_never_fails_the_policy_gate() -> None:
    """Private repositories on the Free, Pro and Team plans have no code scanning unless they
    buy code security: the upload fails there, and the gate's verdict is `gitops check` alone,
    whose findings stay in the job summary and the `policy` artifact."""
    policy = load(GITHUB_DIR / "workflows" / "pr.yml")["jobs"]["policy"]
    sarif = job_steps(policy, uses="github/codeql-action/upload-sarif")
    assert sarif and all(step.get("continue-on-error") is True for step in sarif)
    (check,) = job_steps(policy, runs=".venv/bin/gitops check")
    assert "continue-on-error" not in check, "the verdict itself must fail the job"
    (upload,) = job_steps(policy, uses="actions/upload-artifact")
    assert upload["with"]["name"] == "policy" and "!cancelled()" in upload["if"]
    kept = upload["with"]["path"].split()
    assert {"reports/policy-summary.txt", "reports/policy.sarif"} <= set(kept)
