"""The Actions side of the stand-in: workflow runs, which the deploy asks about to trust a plan
comment, and deployment environments, whose protection rules it checks. Both are seeded by
tests and the rehearsal (the pipeline creates neither); the routes answer with GitHub's field
names."""

from __future__ import annotations

from typing import Any

from gitops.github.standin.records import (
    ApiError,
    Call,
    DeploymentEnvironment,
    Reply,
    WorkflowRun,
)
from gitops.github.standin.repository import Repository


def run_json(repo: Repository, run: WorkflowRun) -> dict[str, Any]:
    owner, _, name = run.head_repository.partition("/")
    return {
        "id": run.id,
        "name": run.path.rsplit("/", 1)[-1].removesuffix(".yml"),
        "path": run.path,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "run_attempt": 1,
        "html_url": f"https://github.com/{repo.name}/actions/runs/{run.id}",
        "created_at": run.created_at,
        "run_started_at": run.created_at,
        "updated_at": run.updated_at,
        "repository": {"full_name": repo.name},
        "head_repository": {"full_name": run.head_repository, "owner": {"login": owner},
                            "name": name},
    }  # fmt: skip


def get_run(repo: Repository, call: Call) -> Reply:
    run = repo.runs.get(int(call.params["run_id"]))
    if run is None:
        raise ApiError(404, "Not Found")
    return Reply(200, run_json(repo, run))


def environment_json(repo: Repository, environment: DeploymentEnvironment) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    if environment.wait_timer:
        rules.append({"id": environment.id * 10 + 1, "type": "wait_timer",
                      "wait_timer": environment.wait_timer})  # fmt: skip
    if environment.reviewers:
        rules.append({
            "id": environment.id * 10 + 2,
            "type": "required_reviewers",
            "prevent_self_review": environment.prevent_self_review,
            "reviewers": [{"type": "User", "reviewer": {"login": login, "type": "User"}}
                          for login in environment.reviewers],
        })  # fmt: skip
    return {
        "id": environment.id,
        "name": environment.name,
        "url": f"{repo.api_url()}/repos/{repo.name}/environments/{environment.name}",
        "html_url": f"https://github.com/{repo.name}/deployments/{environment.name}",
        "created_at": environment.created_at,
        "updated_at": environment.created_at,
        "can_admins_bypass": environment.can_admins_bypass,
        "protection_rules": rules,
        "deployment_branch_policy": None,
    }  # fmt: skip


def get_environment(repo: Repository, call: Call) -> Reply:
    environment = repo.environments.get(call.params["name"])
    if environment is None:
        raise ApiError(404, "Not Found")
    return Reply(200, environment_json(repo, environment))


ACTIONS_ROUTES = [
    ("GET", r"/actions/runs/(?P<run_id>\d+)", get_run),
    ("GET", r"/environments/(?P<name>[^/]+)", get_environment),
]
"""(method, pattern on the path after /repos/{owner}/{repo}, handler)."""
