"""The `gitops` commands the workflows run against GitHub, as processes, with the stand-in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.github.standin import GitHubStandIn
from gitops.pipeline.plan_comment import parse_header

from infra.environments import DEFAULT_ENVIRONMENTS_DIR
from tests.helpers import gitops_in_process
from tests.pipeline.plans import SECRET_2, make_mixed_plan

NEW_DIGEST = "sha256:" + "cd" * 32


@pytest.fixture(scope="module")
def mixed_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("plans")
    make_mixed_plan(directory)
    return directory / "mixed.json"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        yield standin


def gitops(*args: str, github: GitHubStandIn | None, tmp_path: Path, **extra: str):
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    names = ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_SHA",
             "GITHUB_RUN_ID")  # fmt: skip
    for name in names:
        env.pop(name, None)
    env |= extra
    if github is not None:
        env |= {
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_TOKEN": github.token,
        }
    return gitops_in_process(args, env)


def test_comment_post_creates_then_updates_one_comment(github, mixed_plan, tmp_path) -> None:
    number = github.open_pull_request("change", head="feature")
    policy = tmp_path / "policy-summary.txt"
    policy.write_text("302 passed, 0 failed, 15 skipped over 1 stack(s)\n")
    args = ("comment", f"dev={mixed_plan}", "--commit", "a" * 40, "--post", str(number),
            "--policy-summary-file", str(policy))  # fmt: skip
    first = gitops(*args, github=github, tmp_path=tmp_path, GITHUB_RUN_ID="4242")
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("comment created: https://github.com/")
    second = gitops(*args, github=github, tmp_path=tmp_path, GITHUB_RUN_ID="4243")
    assert second.stderr.startswith("comment updated: ")
    (posted,) = github.comments(number)
    assert posted["body"] == second.stdout and SECRET_2 not in posted["body"]
    assert parse_header(posted["body"])["run_id"] == 4243, "the run that wrote it, for the deploy"
    assert "**Policy gate:** 302 passed, 0 failed" in posted["body"]
    assert posted["body"] in (tmp_path / "summary.md").read_text()


def test_comment_post_needs_the_github_settings(mixed_plan, tmp_path) -> None:
    result = gitops("comment", f"dev={mixed_plan}", "--post", "1", github=None, tmp_path=tmp_path,
                    GITHUB_REPOSITORY="acme/repo")  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "gitops comment: error: GITHUB_TOKEN is not set; pass `github.token` to this step's env"
    )
    missing = gitops("comment", "--policy-summary-file", str(tmp_path / "nope.txt"),
                     github=None, tmp_path=tmp_path)  # fmt: skip
    assert missing.returncode == 2 and "nope.txt: cannot read" in missing.stderr


def test_deploy_cancelled_opens_the_environments_issue(github, tmp_path) -> None:
    result = gitops("deploy-cancelled", "staging", "--commit", "c" * 40, github=github,
                    tmp_path=tmp_path, GITHUB_SERVER_URL="https://github.com",
                    GITHUB_RUN_ID="77")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "staging: the deploy of cccccccccccc was cancelled; failure issue #1 opened"
    )
    (issue,) = github.issues("open")
    assert issue["title"] == "Deploy of staging failed"
    assert f"https://github.com/{github.repository}/actions/runs/77" in issue["body"]
    unknown = gitops("deploy-cancelled", "qa", "--commit", "c" * 40, github=github,
                     tmp_path=tmp_path)  # fmt: skip
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1


def test_promote_opens_a_pull_request_with_the_digest(github, tmp_path) -> None:
    environments = tmp_path / "environments"
    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, environments)
    for path in environments.glob("*.yaml"):
        github.add_file(f"environments/{path.name}", path.read_text())
    dev = environments / "dev.yaml"
    old = dev.read_text().split('image_digest: "', 1)[1].split('"', 1)[0]
    dev.write_text(dev.read_text().replace(old, NEW_DIGEST))
    result = gitops("promote", "--from", "dev", "--to", "staging", "--open-pr", github=github,
                    tmp_path=tmp_path, GITOPS_ENVIRONMENTS_DIR=str(environments),
                    GITHUB_SHA=github.branch_sha("main"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (pull,) = github.pull_requests()
    opened = f"pull request #{pull['number']} opened: {pull['html_url']}"
    assert result.stdout.strip().endswith(opened)
    assert pull["head"]["ref"] == "promote/staging/1.4.0-cdcdcdcd" and NEW_DIGEST in pull["body"]
    on_branch = github.file_text("environments/staging.yaml", pull["head"]["ref"])
    assert on_branch == (environments / "staging.yaml").read_text() and NEW_DIGEST in on_branch
    assert NEW_DIGEST not in github.file_text("environments/staging.yaml", "main")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("promote", "--from", "dev", "--to", "staging", "--open-pr", "--dry-run"),
         "gitops promote: error: --open-pr and --dry-run exclude each other"),
        (("deploy", "dev", "--commit", "main"),
         "gitops deploy: error: argument --commit: 'main' is not a full 40-character commit SHA"),
        (("deploy", "dev", "--commit", "b" * 40),
         "gitops deploy: error: GITHUB_REPOSITORY: expected OWNER/NAME, got ''"),
        (("drift", "qa"), "gitops drift: error: GITHUB_REPOSITORY: expected OWNER/NAME"),
        (("plan", "dev", "--no-synth", "--outdir", "/nonexistent"),
         "gitops plan: error: /nonexistent/stacks/fraud-detection-dev: no synthesized stack"),
        (("apply", "dev", "--no-synth", "--outdir", "/nonexistent"),
         "gitops apply: error: /nonexistent/stacks/fraud-detection-dev: no synthesized stack"),
    ],
)  # fmt: skip
def test_pipeline_commands_reject_bad_input_in_one_line(args, message, tmp_path) -> None:
    result = gitops(*args, github=None, tmp_path=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)


def test_a_failed_plan_job_is_said_plainly_and_never_reviewed(mixed_plan, tmp_path) -> None:
    missing = tmp_path / "plan-prod" / "plan-summary.json"
    strict = gitops("comment", f"dev={mixed_plan}", f"prod={missing}", github=None,
                    tmp_path=tmp_path)  # fmt: skip
    assert strict.returncode == 2 and "plan-summary.json: plan JSON not found" in strict.stderr
    result = gitops("comment", f"dev={mixed_plan}", f"prod={missing}", "--allow-missing",
                    github=None, tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = parse_header(result.stdout)
    assert set(header["fingerprints"]) == {"dev"}, "no fingerprint may stand for a failed plan"
    assert "| `prod` | - | - | - | - | - | - | **no plan** |" in result.stdout
    assert "**`prod`: no plan.** Its plan job failed" in result.stdout
