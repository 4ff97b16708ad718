"""Whether a job meant to wait for a reviewer really does.

Approval: an environment whose file sets `pipeline.require_reviewers` (prod) is meant to wait
for a reviewer before every apply; one that sets `pipeline.require_plan_reviewers` (prod),
before a pull request's code may plan it in the GitHub environment ENV-plan (the plan reads the
state). Only GitHub enforces either, through the environment's required-reviewers rule, and a
job in an environment without one runs at once. So the deploy reads `GET /environments/{env}`
before planning and refuses, applying nothing, when the environment is missing or has no such
rule: for PCI DSS change control an unreviewed production change must stop, not merely be noted.
`gitops plan-reviewers` does the same for ENV-plan before the plan job fetches credentials; it
runs the pull request's own code, so it makes a missing rule fail loudly, while GitHub's rule is
what holds the credentials back. GitHub does not offer required reviewers everywhere (private
repositories need a plan above Team), so the file can carry `pipeline.reviewers_waiver`, the
reason in words, reviewed like any change; the deploy or plan then goes on with a loud warning
in its log and summary.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from gitops.errors import GitopsError
from gitops.github.client import GitHubClient, GitHubError
from gitops.pipeline import job_summary
from infra.pipeline_settings import PLAN_ENVIRONMENT_SUFFIX


@dataclass(frozen=True)
class RequiredReviewers:
    """The environment file says every apply waits for a reviewer (`require_reviewers`)."""

    waiver: str | None = None
    """`reviewers_waiver`: why GitHub cannot enforce it here; warn instead of refusing."""
    setting: str = "require_reviewers"
    gated: str = "every apply"
    suffix: str = ""
    """Of the GitHub environment's name: ENV (applies) or ENV-plan (pull requests' plans)."""


def plans_reviewed(waiver: str | None) -> RequiredReviewers:
    """`require_plan_reviewers`: a pull request's plan waits in the GitHub environment ENV-plan."""
    return RequiredReviewers(
        waiver, "require_plan_reviewers", "every pull request's plan", PLAN_ENVIRONMENT_SUFFIX
    )


class ReviewersMissing(GitopsError):
    """An environment meant to wait for a reviewer has no required-reviewers rule on GitHub."""


def check_reviewers(client: GitHubClient, name: str, required: RequiredReviewers) -> str:
    """Refuse (or, with a waiver, warn) unless the GitHub environment of environment `name`
    has a required-reviewers rule; one line saying what was found."""
    environment = f"{name}{required.suffix}"
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
            said = f"{environment}: {required.gated} waits for a required reviewer"
            return f"{said} (GitHub environment)"
        problem = f"the GitHub environment `{environment}` has no required-reviewers rule ({where})"
    if required.waiver is None:
        raise ReviewersMissing(
            f"{environment}: {problem}, but pipeline.{required.setting} in"
            f" environments/{name}.yaml says {required.gated} waits for one; nothing was"
            f" planned or applied. Add required reviewers (Settings > Environments >"
            f" {environment}), or, where GitHub's plan has none, set pipeline.reviewers_waiver"
            " to the reason"
        )
    waiver = " ".join(required.waiver.split())
    warning = (
        f"{environment}: {problem}; going on WITHOUT a required reviewer, as"
        f" pipeline.reviewers_waiver allows: {waiver}"
    )
    print(f"::warning title=No required reviewers for {environment}::{warning}", flush=True)
    job_summary.append(f"> [!WARNING]\n> {warning}")
    return warning
