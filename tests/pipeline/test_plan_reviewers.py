"""Who may plan an environment from a pull request: the GitHub environment ENV-plan, its plan
role's only pull-request trust, and `gitops plan-reviewers`, which pr.yml runs before the plan
job fetches credentials (against the GitHub stand-in, as a process would)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.bootstrap.github_oidc import plan_subjects
from gitops.github.standin import GitHubStandIn
from gitops.pipeline.environments import workflow_outputs

from infra.environments import DEFAULT_ENVIRONMENTS_DIR, load_environments
from tests.helpers import gitops_in_process

PASSED = "prod-plan: every pull request's plan waits for a required reviewer (GitHub environment)"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        yield standin


def plan_reviewers(environment: str, github: GitHubStandIn | None, tmp_path: Path, **extra: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    env |= {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), **extra}
    if github is not None:
        env |= {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": github.repository,
                "GITHUB_TOKEN": github.token}  # fmt: skip
    return gitops_in_process(("plan-reviewers", environment), env)


def environment_requests(github: GitHubStandIn) -> list[str]:
    return [f"{r.method} {r.path}" for r in github.requests if "/environments/" in r.path]


def test_a_prod_plan_environment_with_required_reviewers_passes(github, tmp_path) -> None:
    github.add_environment(
        "prod-plan", ("platform-lead",), prevent_self_review=True, can_admins_bypass=False
    )
    result = plan_reviewers("prod", github, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PASSED
    assert environment_requests(github) == [
        f"GET /repos/{github.repository}/environments/prod-plan"
    ]


@pytest.mark.parametrize(
    ("reviewers", "self_review", "bypass", "found"),
    [(None, False, True, "GitHub has no environment `prod-plan` that this job can see"),
     ((), True, False, "the GitHub environment `prod-plan` has no required-reviewers rule"),
     (("platform-lead",), False, False,
      "the GitHub environment `prod-plan` lets whoever started the run approve it"),
     (("platform-lead",), True, True,
      "the GitHub environment `prod-plan` lets administrators run without approval")],
    ids=["no environment", "no reviewers rule", "self-review allowed", "administrators bypass"],
)  # fmt: skip
def test_a_prod_plan_environment_without_its_reviewers_is_refused_in_one_line(
    github, tmp_path, reviewers, self_review, bypass, found
) -> None:
    """GitHub creates a missing environment, unprotected, the first time a job names it;
    whoever started the run must not approve it, nor an administrator skip the approval: the
    job fails before it assumes the plan role."""
    if reviewers is not None:
        github.add_environment("prod-plan", reviewers, prevent_self_review=self_review,
                               wait_timer=5, can_admins_bypass=bypass)  # fmt: skip
    result = plan_reviewers("prod", github, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"gitops plan-reviewers: error: prod-plan: {found}")
    assert "pipeline.require_plan_reviewers in environments/prod.yaml says every pull" in line
    assert "Settings > Environments > prod-plan" in line
    assert "set pipeline.require_plan_reviewers: false, accepting" in line


def test_the_apply_waiver_does_not_cover_plans(github, tmp_path) -> None:
    """A private repository without required reviewers may waive them for applies; a plan
    without them would hand any branch the state, so only the file saying so lets it run."""
    environments = tmp_path / "environments"
    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, environments)
    prod = environments / "prod.yaml"
    waiver = '  reviewers_waiver: "private repository on the Team plan; accepted by the CISO"\n'
    asked = "  require_reviewers: true\n"
    prod.write_text(prod.read_text().replace(asked, asked + waiver))
    moved = {"GITOPS_ENVIRONMENTS_DIR": str(environments)}
    result = plan_reviewers("prod", github, tmp_path, **moved)
    assert result.returncode == 1 and "GitHub has no environment `prod-plan`" in result.stderr
    prod.write_text(prod.read_text().replace("require_plan_reviewers: true",
                                             "require_plan_reviewers: false"))  # fmt: skip
    result = plan_reviewers("prod", github, tmp_path, **moved)
    assert result.returncode == 0, result.stderr
    assert "pull requests plan prod without a reviewer" in result.stdout


@pytest.mark.parametrize("status", [401, 403])
def test_an_environment_github_will_not_show_is_an_error_no_waiver_covers(
    github, tmp_path, status
) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/environments/", status, "Forbidden")
    result = plan_reviewers("prod", github, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("gitops plan-reviewers: error: prod-plan: GitHub would not show")
    assert "`actions: read`" in line and "Add required reviewers" not in line


@pytest.mark.parametrize("environment", ["dev", "local"])
def test_an_environment_not_asking_for_plan_reviewers_asks_github_nothing(
    tmp_path, environment
) -> None:
    """No GitHub settings at all, and no emulator running for `local`: none is needed."""
    result = plan_reviewers(environment, None, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{environment}-plan: pull requests plan {environment} without a reviewer"
        " (pipeline.require_plan_reviewers is not set)"
    )


def test_an_unknown_environment_is_one_line(tmp_path) -> None:
    result = plan_reviewers("qa", None, tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "qa" in result.stderr


def test_each_plan_job_runs_where_its_plan_role_trusts_and_no_pull_request_elsewhere() -> None:
    """The plan matrix's GitHub environment is the plan role's one pull-request subject: a
    pull request's job outside it (or one without an environment) gets no credentials."""
    configs = load_environments()
    matrix = json.loads(workflow_outputs(configs)["plan"])["include"]
    by_name = {c.name: c for c in configs}
    assert [entry["github_environment"] for entry in matrix] == [
        f"{entry['environment']}-plan" for entry in matrix
    ]
    for entry in matrix:
        subjects = plan_subjects("acme/fraud-detection", by_name[entry["environment"]])
        assert subjects == [
            f"repo:acme/fraud-detection:environment:{entry['github_environment']}",
            "repo:acme/fraud-detection:ref:refs/heads/main",
        ]
        assert not [s for s in subjects if s.endswith(":pull_request")]
