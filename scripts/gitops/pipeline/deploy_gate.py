"""The deploy job after a merge: apply an environment only if its plan is the one reviewed.

The merged pull request's plan comment carries each environment's fingerprint in its hidden
header. The job plans again from the merge commit and applies that plan file only when the
fingerprints match; anything else (a later commit on `main`, drift in the account, a forged
comment) stops it before Terraform touches the environment. A failed deploy opens or updates
one issue per environment; the next successful deploy closes it.

Whose comment counts: every workflow of the repository, on any branch, writes as
`github-actions[bot]`, so the bot's name alone proves nothing. The header also names the run
that wrote it, and a matching fingerprint is trusted only when `GET /actions/runs/{id}` says
that run is the pull request's own: event `pull_request`, workflow `.github/workflows/pr.yml`,
the repository's own code at the pull request's final head, finished with success, and the
comment not changed after it finished. (The fingerprints are not read from the run's plan
artifacts instead: those expire in days, and a production deploy can wait 30 days for its
reviewer.) The fingerprint is compared first, so a stale review is reported as a mismatch.

Whether an environment that must wait for a reviewer really does: gitops.pipeline.reviewers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import GitopsError
from gitops.github.client import GitHubClient, GitHubError
from gitops.pipeline import job_summary
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import MARKER, CommentContext, parse_header
from gitops.pipeline.reviewers import RequiredReviewers, check_reviewers
from gitops.pipeline.rollout import Rollout
from gitops.terraform import plan_apply
from gitops.terraform.plan_apply import Planned
from gitops.terraform.plan_json import describe_counts, load_plan
from gitops.terraform.runner import TerraformRunner

FAILURE_LABEL = "deploy-failed"


PR_WORKFLOW = ".github/workflows/pr.yml"
"""The one workflow whose plan comments the deploy trusts."""


FORGED_ADVICE = (
    "treat the comment as forged: find the workflow that wrote it, delete the comment, re-run"
    " the pull request's `pr` workflow, then re-run this job"
)


class PlanMismatch(GitopsError):
    """The plan made now is not the plan that was reviewed; nothing was applied."""


class UntrustedComment(PlanMismatch):
    """The plan comment cannot be traced to the pull request's own `pr.yml` run."""


@dataclass(frozen=True)
class ReviewedPlan:
    pull_number: int
    pull_url: str
    commit: str | None
    """The pull request's head commit the reviewed plan was made for."""
    fingerprint: str
    counts: Mapping[str, int] | None
    comment_url: str = ""
    run_id: object = None
    """The header's `run_id`, as written: checked, never assumed to be an int."""
    comment_updated_at: str | None = None
    head_sha: str | None = None
    """The pull request's final head commit, from GitHub (not from the comment)."""


def reviewed_plan(client: GitHubClient, commit: str, environment: str) -> ReviewedPlan:
    """The plan of `environment` reviewed in the pull request whose merge made `commit`: the
    newest plan comment of the bot that carries a fingerprint of `environment` (not yet
    trusted: see `check_provenance`)."""
    pull = client.merged_pull_request(commit)
    if pull is None:
        raise PlanMismatch(
            f"{environment}: commit {commit[:12]} did not come from a merged pull request, so no"
            " plan of it was reviewed; send the change through a pull request"
        )
    number = pull["number"]
    for comment in reversed(client.bot_comments(number, f"<!-- {MARKER} ")):
        header = parse_header(comment.get("body") or "") or {}
        fingerprint = (header.get("fingerprints") or {}).get(environment)
        if fingerprint:
            return ReviewedPlan(
                number,
                pull.get("html_url", f"#{number}"),
                header.get("commit"),
                fingerprint,
                (header.get("counts") or {}).get(environment),
                comment_url=comment.get("html_url") or f"#{comment.get('id')}",
                run_id=header.get("run_id"),
                comment_updated_at=comment.get("updated_at"),
                head_sha=(pull.get("head") or {}).get("sha"),
            )
    raise PlanMismatch(
        f"{environment}: pull request #{number} has no plan comment of {environment} written by"
        f" {client.bot_login}; re-run its `pr` workflow to plan it, then re-run this job"
    )


def _describe(fingerprint: str, counts: Mapping[str, int] | None) -> str:
    what = describe_counts(counts or {}, "no resource changes")
    return f"{fingerprint.removeprefix('sha256:')[:12]}: {what}"


def check_matches(reviewed: ReviewedPlan, planned: EnvironmentPlan) -> None:
    if reviewed.fingerprint == planned.fingerprint:
        return
    raise PlanMismatch(
        f"{planned.environment}: the plan differs from the one reviewed in pull request"
        f" #{reviewed.pull_number} (reviewed {_describe(reviewed.fingerprint, reviewed.counts)};"
        f" now {_describe(planned.fingerprint, planned.counts)}), so nothing was applied. Get the"
        " current plan reviewed, then re-run this job: after drift, re-run the pull request's"
        " `pr` workflow; after a later change on main, merge a pull request that includes it"
    )


def _is_pr_workflow(path: str, repository: str) -> bool:
    """`.github/workflows/pr.yml`, also in the long form `OWNER/NAME/<path>@<ref>` of this
    repository that the API can give."""
    if path == PR_WORKFLOW:
        return True
    prefix = f"{repository}/{PR_WORKFLOW}@".lower()
    return path.lower().startswith(prefix)


def _moment(timestamp: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def run_problem(
    run: Mapping[str, Any], reviewed: ReviewedPlan, repository: str
) -> tuple[str, str] | None:
    """Why `run` did not write `reviewed`'s comment as the pull request's plan, and what to do;
    None when it did. Pure: `run` is the answer of `GET /actions/runs/{id}`."""
    forged = FORGED_ADVICE
    event, path = run.get("event"), str(run.get("path") or "")
    if event != "pull_request":
        return f"was triggered by `{event}`, not `pull_request`", forged
    if not _is_pr_workflow(path, repository):
        return f"is a run of `{path}`, not of `{PR_WORKFLOW}`", forged
    code = str((run.get("head_repository") or {}).get("full_name") or "")
    if code.lower() != repository.lower():
        return f"ran the code of {code or 'another repository'}, not of {repository}", forged
    head = str(run.get("head_sha") or "")
    if not reviewed.head_sha or head != reviewed.head_sha:
        final = (reviewed.head_sha or "unknown")[:12]
        return (
            f"planned commit {head[:12]}, not the pull request's final head {final}",
            "re-run the `pr` workflow for the final head, then re-run this job",
        )
    if run.get("status") != "completed":
        return (
            f"has not finished (status `{run.get('status')}`)",
            "wait for it to finish, then re-run this job",
        )
    if run.get("conclusion") != "success":
        return (
            f"concluded `{run.get('conclusion')}`, not `success`",
            "re-run its failed jobs until it succeeds, then re-run this job",
        )
    finished, written = _moment(run.get("updated_at")), _moment(reviewed.comment_updated_at)
    if finished is None or written is None or written > finished:
        return (
            f"finished at {run.get('updated_at')}, before the comment was last changed"
            f" ({reviewed.comment_updated_at})",
            forged,
        )
    return None


def check_provenance(client: GitHubClient, reviewed: ReviewedPlan, environment: str) -> None:
    """Trust the comment's fingerprint only if GitHub says the pull request's own `pr.yml` run
    wrote it; otherwise refuse in one line naming the comment, the run and why."""
    where = f"{environment}: the plan comment {reviewed.comment_url} is not trusted"
    run_id = reviewed.run_id
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        raise UntrustedComment(
            f"{where}: it names no workflow run (written by an older pipeline, or not by"
            f" `{PR_WORKFLOW}`); nothing was applied. Re-run the pull request's `pr` workflow,"
            " then re-run this job"
        )
    problem: tuple[str, str] | None
    try:
        found: dict[str, Any] = client.call("GET", f"/actions/runs/{run_id}")
    except GitHubError as error:
        if error.status != 404:
            raise
        problem = (f"does not exist in {client.repository}", FORGED_ADVICE)
    else:
        problem = run_problem(found, reviewed, client.repository)
    if problem is not None:
        why, then = problem
        raise UntrustedComment(
            f"{where}: run {run_id} {why}; nothing was applied. To go on, {then}"
        )


def run_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Link to the running workflow, from the variables every Actions job has."""
    environ = os.environ if environ is None else environ
    parts = [environ.get(n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def failure_marker(environment: str) -> str:
    return f"<!-- gitops-deploy-failure {environment} -->"


def _report_failure(client: GitHubClient, environment: str, commit: str, error: str) -> str:
    """Open or update the environment's failure issue; one line saying what happened."""
    link = run_url()
    body = "\n".join(
        [
            f"The deploy of **`{environment}`** failed after the merge of `{commit}`.",
            "",
            f"```\n{error}\n```",
            "",
            f"Workflow run: {link}" if link else "Workflow run: (not in GitHub Actions)",
            "",
            "The next successful deploy of this environment closes this issue.",
        ]
    )
    title = f"Deploy of {environment} failed"
    try:
        action, issue = client.sync_issue(
            failure_marker(environment), title, body, (FAILURE_LABEL,)
        )
    except GitHubError as github_error:
        return f"could not report the failure in an issue: {github_error}"
    return f"failure issue #{issue['number'] if issue else '?'} {action}"


def report_cancelled(client: GitHubClient, environment: str, commit: str) -> str:
    """Open or update the environment's failure issue for a deploy job GitHub cancelled (it
    runs none of its steps, so it cannot say so itself); one line saying what happened.

    The usual cause: the environment's concurrency group holds one running and one waiting
    deploy, and a newer push to `main` replaced the waiting one (a production deploy waiting for
    its reviewer holds the group for days). The issue stays open until a deploy succeeds.
    """
    link = run_url()
    group = f"deploy-{environment}"
    body = "\n".join(
        [
            f"The deploy of **`{environment}`** for `{commit}` was cancelled, most likely"
            " before it ran: nothing of this commit was applied by it.",
            "",
            f"GitHub keeps one running and one waiting deploy per environment (concurrency group"
            f" `{group}`); a newer push to `main` replaces the waiting one, which is cancelled"
            " without running a step. Someone may also have cancelled the run, or the job"
            " exceeded its time limit.",
            "",
            "What to do:",
            f"- If a newer deploy of `{environment}` followed, it planned `main` with this"
            " commit's change in it. If it applied, this change is live and that deploy closed"
            " (or will close) this issue. If it was refused as a mismatch, its pull request's"
            " review did not see this change: re-run that pull request's `pr` workflow so the"
            " combined plan is reviewed, then re-run the refused job.",
            "- If no newer deploy followed, re-run the cancelled job from the workflow run below.",
            "- If the job was cancelled while it applied (by hand, or by its time limit), read its"
            " log and check the state lock before re-running it.",
            "",
            f"Workflow run: {link}" if link else "Workflow run: (not in GitHub Actions)",
            "",
            "The next successful deploy of this environment closes this issue.",
        ]
    )
    action, issue = client.sync_issue(
        failure_marker(environment), f"Deploy of {environment} failed", body, (FAILURE_LABEL,)
    )
    number = issue["number"] if issue else "?"
    said = f"failure issue #{number} {action}"
    return f"{environment}: the deploy of {commit[:12]} was cancelled; {said}"


def _outputs_markdown(environment: str, values: Mapping[str, object]) -> str:
    rows = [f"| `{name}` | `{json.dumps(value)}` |" for name, value in values.items()]
    header = [f"### `{environment}` outputs", "", "| output | value |", "| --- | --- |"]
    return "\n".join([*header, *rows])


def run(
    environment: str,
    commit: str,
    plan_environment: Callable[[], Planned],
    client: GitHubClient,
    roll_out: Callable[[], Rollout | None] | None = None,
    required_reviewers: RequiredReviewers | None = None,
) -> dict[str, object]:
    """Check the environment's reviewers (`required_reviewers`: when the file asks for them),
    plan, compare with the reviewed fingerprint, apply that plan file, then roll a new task
    definition out blue/green (`roll_out`); the outputs.

    Any failure (missing reviewers, mismatch, Terraform error) is reported in the environment's
    issue and raised.
    """
    try:
        if required_reviewers is not None:
            print(check_reviewers(client, environment, required_reviewers), flush=True)
        runner, stack_dir, planned = plan_environment()
        plan = EnvironmentPlan.from_plan(environment, load_plan(planned.json_file))
        if plan.problem:
            raise PlanMismatch(f"{environment}: {plan.problem}; nothing was applied")
        if planned.has_changes:
            _apply_if_reviewed(environment, commit, client, runner, stack_dir, planned, plan)
        else:
            print(f"{environment}: no changes; nothing to compare or apply")
        values = plan_apply.outputs(runner, stack_dir)
        rollout = roll_out() if roll_out is not None else None
    except Exception as error:  # every failure is reported, a bug's traceback included
        reason = str(error) if isinstance(error, GitopsError) else repr(error)
        print(f"{environment}: {_report_failure(client, environment, commit, reason)}")
        raise
    for name, value in values.items():
        print(f"{name} = {json.dumps(value)}")
    job_summary.append(_outputs_markdown(environment, values))
    if rollout is not None:
        job_summary.append(rollout.summary_markdown(environment))
    try:
        action, issue = client.sync_issue(failure_marker(environment), "", None)
    except GitHubError as error:  # applied already: a GitHub hiccup must not fail the job
        print(f"{environment}: warning: could not close the failure issue: {error}")
        return values
    if action == "closed" and issue:
        print(f"{environment}: closed failure issue #{issue['number']}")
    return values


def _apply_if_reviewed(
    environment: str,
    commit: str,
    client: GitHubClient,
    runner: TerraformRunner,
    stack_dir: Path,
    planned: plan_apply.PlanResult,
    plan: EnvironmentPlan,
) -> None:
    print(f"{environment}: {planned.summary()} (fingerprint {plan.fingerprint})")
    try:
        reviewed = reviewed_plan(client, commit, environment)
        check_matches(reviewed, plan)
        check_provenance(client, reviewed, environment)
    except PlanMismatch:
        context = CommentContext(commit=commit, title="Refused plan", merge_note=False)
        job_summary.append_plan([plan], context)
        raise
    print(
        f"{environment}: matches the plan reviewed in pull request #{reviewed.pull_number}"
        f" (comment written by its `pr` run {reviewed.run_id})"
    )
    plan_apply.apply(runner, stack_dir, planned.plan_file, locking=plan_apply.DEPLOY)
    print(f"{environment}: applied")
