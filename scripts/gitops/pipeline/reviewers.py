"""Whether a job meant to wait for a reviewer really does.

Approval: an environment whose file sets `pipeline.require_reviewers` (prod) is meant to wait
for a reviewer before every apply; one that sets `pipeline.require_plan_reviewers` (prod),
before a pull request's code may plan it in the GitHub environment ENV-plan (the plan reads the
state, which holds secrets). Only GitHub enforces either, through the environment's
required-reviewers rule, and a job in an environment without one runs at once. So the deploy
reads `GET /environments/{env}` before planning and refuses, applying nothing, when the
environment is missing, has no such rule, lets whoever started the run approve it ("Prevent
self-review" off) or lets administrators bypass it (GitHub's default): for PCI DSS change
control an unreviewed production change must stop, not merely be noted. `gitops
plan-reviewers` does the same for ENV-plan before the plan job fetches credentials; it runs the
pull request's own code, so it makes a missing rule fail loudly, while GitHub's rule is what
holds the credentials back.

GitHub does not offer required reviewers everywhere (private repositories need a plan above
Team), so for applies the file can carry `pipeline.reviewers_waiver`, the reason in words,
reviewed like any change; the deploy then goes on with a loud warning in its log and summary.
Plans have no waiver: a repository that cannot protect ENV-plan sets
`require_plan_reviewers: false`, which says in the file what it gives up.
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
    """What the environment file asks of a GitHub environment (by default: every apply waits
    for a reviewer, `require_reviewers`)."""

    waiver: str | None = None
    """`reviewers_waiver`: why GitHub cannot enforce it here; warn instead of refusing."""
    setting: str = "require_reviewers"
    gated: str = "every apply"
    suffix: str = ""
    """Of the GitHub environment's name: ENV (applies) or ENV-plan (pull requests' plans)."""
    otherwise: str = "set pipeline.reviewers_waiver to the reason"
    """What the file can say where GitHub's plan has no required reviewers."""


PLANS_REVIEWED = RequiredReviewers(
    setting="require_plan_reviewers",
    gated="every pull request's plan",
    suffix=PLAN_ENVIRONMENT_SUFFIX,
    otherwise=(
        "set pipeline.require_plan_reviewers: false, accepting that any branch's code can"
        " read the state"
    ),
)
"""`require_plan_reviewers`: a pull request's plan waits in the GitHub environment ENV-plan."""


class ReviewersMissing(GitopsError):
    """An environment meant to wait for a reviewer does not on GitHub: no required-reviewers
    rule, "Prevent self-review" off, or administrators may bypass it."""


def check_reviewers(client: GitHubClient, name: str, required: RequiredReviewers) -> str:
    """Refuse (or, with a waiver, warn) unless the GitHub environment of environment `name`
    has the rule `required` asks for; one line saying what was found."""
    environment = f"{name}{required.suffix}"
    where = f"GET /repos/{client.repository}/environments/{environment}"
    try:
        found: dict[str, Any] = client.call(
            "GET", f"/environments/{urllib.parse.quote(environment, safe='')}"
        )
    except GitHubError as error:
        if error.status in (401, 403):  # unknown is not unprotected: no waiver covers it
            raise GitopsError(
                f"{environment}: GitHub would not show the environment ({error}); the job needs"
                f" `actions: read`; nothing was planned or applied"
            ) from None
        if error.status != 404:
            raise
        problem = f"GitHub has no environment `{environment}` that this job can see ({where}: 404)"
    else:
        unmet = _unmet(found, environment)
        if unmet is None:
            said = f"{environment}: {required.gated} waits for a required reviewer"
            return f"{said} (GitHub environment)"
        problem = f"{unmet} ({where})"
    if required.waiver is None:
        raise ReviewersMissing(
            f"{environment}: {problem}, but pipeline.{required.setting} in"
            f" environments/{name}.yaml says {required.gated} waits for one; nothing was"
            f' planned or applied. Add required reviewers with "Prevent self-review" and'
            f" without administrator bypass (Settings > Environments > {environment}), or,"
            f" where GitHub's plan has no required reviewers, {required.otherwise}"
        )
    waiver = " ".join(required.waiver.split())
    warning = (
        f"{environment}: {problem}; going on regardless, as pipeline.reviewers_waiver"
        f" allows: {waiver}"
    )
    print(f"::warning title=No required reviewers for {environment}::{warning}", flush=True)
    job_summary.append(f"> [!WARNING]\n> {warning}")
    return warning


def _unmet(found: dict[str, Any], environment: str) -> str | None:
    """What the environment lacks, if anything."""
    rules = [
        rule
        for rule in found.get("protection_rules") or []
        if rule.get("type") == "required_reviewers" and rule.get("reviewers")
    ]
    if not rules:
        return f"the GitHub environment `{environment}` has no required-reviewers rule"
    if not any(rule.get("prevent_self_review") for rule in rules):
        return (
            f"the GitHub environment `{environment}` lets whoever started the run approve it"
            ' ("Prevent self-review" is off)'
        )
    if found.get("can_admins_bypass") is not False:  # GitHub's default is True
        return (
            f"the GitHub environment `{environment}` lets administrators run without approval"
            ' ("Allow administrators to bypass configured protection rules" is on)'
        )
    return None
