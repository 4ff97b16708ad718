"""Drift: the scheduled plan of `main` against each environment, kept as one issue per environment.

A plan with changes means the account no longer matches the code (a console edit, a failed
apply, an expired resource). The environment's issue is opened, or updated with the current
plan; when a later run plans no changes, the issue is closed. Nothing is applied.
"""

from __future__ import annotations

from collections.abc import Callable

from gitops.github.client import GitHubClient
from gitops.pipeline import job_summary
from gitops.pipeline.deploy_gate import run_url
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import CommentContext, render
from gitops.terraform.plan_apply import Planned
from gitops.terraform.plan_json import describe_counts, load_plan

DRIFT_LABEL = "drift"
ISSUE_BODY_LIMIT = 65_536


def drift_marker(environment: str) -> str:
    return f"<!-- gitops-drift {environment} -->"


def run(
    environment: str,
    commit: str | None,
    plan_environment: Callable[[], Planned],
    client: GitHubClient,
) -> str:
    """Plan, then open, update or close the environment's drift issue; one line of outcome."""
    _, _, planned = plan_environment()
    plan = EnvironmentPlan.from_plan(environment, load_plan(planned.json_file))
    marker = drift_marker(environment)
    if not plan.has_changes:
        action, issue = client.sync_issue(marker, "", None, (DRIFT_LABEL,))
        closed = f"; closed issue #{issue['number']}" if action == "closed" and issue else ""
        return f"{environment}: no drift{closed}"
    intro = (
        f"The code on `main` no longer matches `{environment}`: applying it would make these"
        " changes. Find who changed what, then either bring the change into the code through a"
        " pull request or let the next deploy put it back.\n\n"
    )
    context = CommentContext(
        commit=commit,
        run_url=run_url(),
        title="Drift",
        subject="main",
        merge_note=False,
        limit=ISSUE_BODY_LIMIT - len(marker) - len(intro) - 1,
        full_plan_location="the job summary of the drift run",
    )
    body = intro + render([plan], context)
    job_summary.append_plan([plan], context)
    action, issue = client.sync_issue(marker, f"Drift in {environment}", body, (DRIFT_LABEL,))
    counts = describe_counts(plan.counts, "output changes")
    return f"{environment}: drift ({counts}); issue #{issue['number'] if issue else '?'} {action}"
