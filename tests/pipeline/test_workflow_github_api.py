"""What the workflows must grant for the GitHub API calls `gitops` makes in them: a job's token
has only the permissions the job (and, in a reusable workflow, its caller) asks for, and GitHub
answers 403 to the rest only on the first real run."""

from __future__ import annotations

from typing import Any

from tests.pipeline.test_workflows import GITHUB_DIR, load

WORKFLOWS = GITHUB_DIR / "workflows"
LEVEL = {"none": 0, "read": 1, "write": 2}


def granted(permissions: dict[str, str], scope: str) -> int:
    return LEVEL[permissions.get(scope, "none")]


def deploy_job() -> dict[str, Any]:
    job: dict[str, Any] = load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]
    return job


def test_the_deploy_may_read_the_plan_comments_run() -> None:
    """`GET /actions/runs/{id}` (whose run wrote the plan comment) needs `actions: read`."""
    assert granted(deploy_job()["permissions"], "actions") >= LEVEL["read"]


def test_callers_grant_every_permission_the_reusable_deploy_asks_for() -> None:
    called = load(WORKFLOWS / "deploy-environment.yml")["jobs"]
    callers = {
        name: job
        for name, job in load(WORKFLOWS / "deploy.yml")["jobs"].items()
        if str(job.get("uses", "")).endswith("/deploy-environment.yml")
    }
    assert callers, "deploy.yml calls deploy-environment.yml"
    for caller_name, caller in callers.items():
        for job_name, job in called.items():
            for scope, level in job.get("permissions", {}).items():
                have = granted(caller["permissions"], scope)
                assert have >= LEVEL[level], f"{caller_name} lacks {scope}: {level} ({job_name})"


def test_a_cancelled_deploy_is_reported_by_a_job_with_issues_write_alone() -> None:
    """A concurrency group cancels a waiting deploy without running a step of it: a second job
    that runs whatever happened says so in the environment's issue."""
    jobs = load(WORKFLOWS / "deploy-environment.yml")["jobs"]
    (reporter,) = [job for job in jobs.values() if job.get("needs") == "deploy"]
    assert reporter["if"] == "${{ always() && needs.deploy.result == 'cancelled' }}"
    assert "concurrency" not in reporter, "it must not wait in (or be cancelled by) the group"
    writes = {scope for scope, level in reporter["permissions"].items() if level == "write"}
    assert writes == {"issues"} and set(reporter["permissions"]) <= {"contents", "issues"}
    (step,) = [s for s in reporter["steps"] if "gitops" in s.get("run", "")]
    assert step["run"] == ('.venv/bin/gitops deploy-cancelled "$TARGET_ENV" --commit "$GITHUB_SHA"')
    assert step["env"]["TARGET_ENV"] == "${{ inputs.environment }}"


def test_promotion_and_release_use_the_jobs_own_token() -> None:
    """A stored token outlives the job (an App's expires after an hour mid-queue); the pull
    requests these open run their checks once a maintainer approves the run."""
    for name in ("promote.yml", "release.yml"):
        (job,) = load(WORKFLOWS / name)["jobs"].values()
        tokens = [
            s["env"]["GITHUB_TOKEN"] for s in job["steps"] if "GITHUB_TOKEN" in s.get("env", {})
        ]
        assert tokens == ["${{ github.token }}"], name
        assert "secrets." not in (WORKFLOWS / name).read_text(), name
