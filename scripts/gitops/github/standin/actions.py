"""The Actions side of the stand-in: workflow runs, which the deploy asks about to trust a plan
comment. Runs are seeded by tests and the rehearsal (a workflow run is not something the
pipeline creates); `GET /actions/runs/{id}` answers with GitHub's field names."""

from __future__ import annotations

from typing import Any

from gitops.github.standin.records import ApiError, Call, Reply, WorkflowRun
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


ACTIONS_ROUTES = [
    ("GET", r"/actions/runs/(?P<run_id>\d+)", get_run),
]
"""(method, pattern on the path after /repos/{owner}/{repo}, handler)."""
