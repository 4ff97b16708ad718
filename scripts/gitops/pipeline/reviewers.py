"""Whether an environment that must wait for a reviewer before every apply really does.

Approval: an environment whose file sets `pipeline.require_reviewers` (prod) is meant to wait
for a reviewer before every apply, and only GitHub enforces that, through the environment's
required-reviewers rule. A job in an environment without one runs at once, so the deploy reads
`GET /environments/{env}` before planning and refuses, applying nothing, when the environment
is missing or has no such rule: for PCI DSS change control an unreviewed production change must
stop, not merely be noted. GitHub does not offer required reviewers everywhere (private
repositories need a plan above Team), so the file can carry `pipeline.reviewers_waiver`, the
reason in words, reviewed like any change; the deploy then goes on with a loud warning in its log
and summary.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from gitops.errors import GitopsError
from gitops.github.client import GitHubClient, GitHubError
from gitops.pipeline import job_summary


@dataclass(frozen=True)
class RequiredReviewers:
    """The environment file says every apply waits for a reviewer (`require_reviewers`)."""

    waiver: str | None = None
    """`reviewers_waiver`: why GitHub cannot enforce it here; warn instead of refusing."""


class ReviewersMissing(GitopsError):
    """An environment meant to wait for a reviewer has no required-reviewers rule on GitHub."""


def check_reviewers(client: GitHubClient, environment: str, required: RequiredReviewers) -> str:
    """Refuse (or, with a waiver, warn) unless the GitHub environment `environment` has a
    required-reviewers rule; one line saying what was found."""
    where = f"GET /repos/{client.repository}/environments/{environment}"
    try:
        found: dict[str, Any] = client.call(
            "GET", f"/environments/{urllib.parse.quote(environment, safe='')}"
        )
    except GitHubError as error:
        if error.status == 404:
            problem = f"GitHub has no environment `{environment}` ({where}: 404)"
        elif error.status == 403:
            problem = (
                f"GitHub would not show the environment `{environment}` ({error}; the job needs"
                " `actions: read`)"
            )
        else:
            raise
    else:
        rules = found.get("protection_rules") or []
        if any(r.get("type") == "required_reviewers" and r.get("reviewers") for r in rules):
            return f"{environment}: every apply waits for a required reviewer (GitHub environment)"
        problem = f"the GitHub environment `{environment}` has no required-reviewers rule ({where})"
    if required.waiver is None:
        raise ReviewersMissing(
            f"{environment}: {problem}, but pipeline.require_reviewers in"
            f" environments/{environment}.yaml says every apply waits for one; nothing was"
            f" planned or applied. Add required reviewers (Settings > Environments >"
            f" {environment}), or, where GitHub's plan has none, set pipeline.reviewers_waiver"
            " to the reason"
        )
    waiver = " ".join(required.waiver.split())
    warning = (
        f"{environment}: {problem}; applying WITHOUT a required reviewer, as"
        f" pipeline.reviewers_waiver allows: {waiver}"
    )
    print(f"::warning title=No required reviewers for {environment}::{warning}", flush=True)
    job_summary.append(f"> [!WARNING]\n> {warning}")
    return warning
