"""The pull-request comment: every environment's plan in one comment, within GitHub's limit.

Reading order, as reviewers need it: failed plans, then destroys, replacements and forgets
(impossible to miss), then failed or unknown checks, then a table of counts in Terraform's own
words (import, add, change, destroy, forget, move) and fingerprints, the policy summary, one
folded section per environment listing each changed resource with its changed attributes and
Terraform's notes (moved from, import id, why replaced, forces replacement), then the objects
changed outside Terraform and the deferred changes, and a footer with the next step. A hidden
header carries the commit, the fingerprints and the id of the workflow run that wrote it as
JSON, so the workflow finds its own comment and the deploy job can compare what was reviewed
with what it plans, after checking with GitHub that the run is the pull request's `pr.yml`.

When the full text exceeds GitHub's 65,536 characters, detail is shed in steps (attribute
values, then attribute names, then resources beyond a count), never the summary or the counts,
and the comment says what it left out and where the full plan is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.release_callout import release_line
from gitops.terraform.plan_json import (
    COUNT_WORDS,
    ResourceChange,
    describe_counts,
)

MARKER = "gitops-plan-comment"
GITHUB_COMMENT_LIMIT = 65_536
SAFETY_MARGIN = 512
MAX_CALLOUTS = 40
"""Destroys/replacements named one by one at the top; the rest are counted."""
DATA_BEARING_TYPES = frozenset({
    "aws_rds_cluster", "aws_rds_cluster_instance", "aws_db_instance", "aws_s3_bucket",
    "aws_dynamodb_table", "aws_kms_key", "aws_secretsmanager_secret", "aws_cloudwatch_log_group",
    "aws_ecr_repository",
})  # fmt: skip
"""Losing one of these loses data: their destroys and replacements are marked in bold."""
DIFF_MARKS = {"add": "+", "destroy": "-", "change": "~", "replace": "-/+", "forget": "!",
              "import": "<=", "move": "=>"}  # fmt: skip
"""Column 0 of the diff block; `!` (forget) is one GitHub highlights, like `+`, `-` and `~`."""
DANGEROUS = ("destroy", "replace", "forget")
DRIFT_WORDS = {"change": "changed outside Terraform", "destroy": "deleted outside Terraform"}


@dataclass(frozen=True)
class CommentContext:
    commit: str | None = None
    run_id: int | None = None
    """The workflow run writing the comment (`GITHUB_RUN_ID`): the deploy trusts the header's
    fingerprints only when GitHub says this run is the pull request's own `pr.yml` run."""
    run_url: str | None = None
    policy_summary: str | None = None
    """One line from the policy gate (passed / failed / skipped, PCI DSS coverage)."""
    no_plan_reason: str | None = None
    """Why there is no plan (a fork gets no cloud credentials); replaces the plan sections."""
    full_plan_location: str = "the job summary of each plan job in this run"
    limit: int = GITHUB_COMMENT_LIMIT
    title: str = "Terraform plan"
    subject: str = "this pull request"
    """What the title names when no commit is given."""
    merge_note: bool = True
    """Say that merging applies exactly these plans (true of a pull request's comment only)."""


@dataclass
class _Detail:
    """How much of each environment's section to show; lowered until the comment fits."""

    values: bool = True
    names: bool = True
    max_resources: int | None = None
    left_out: list[str] = field(default_factory=list)


def header(plans: Sequence[EnvironmentPlan], context: CommentContext) -> str:
    data = {
        "version": 1,
        "commit": context.commit,
        "run_id": context.run_id,
        "fingerprints": {p.environment: p.fingerprint for p in plans if p.reviewable},
        "counts": {p.environment: p.counts for p in plans if p.reviewable},
    }
    return f"<!-- {MARKER} {json.dumps(data, sort_keys=True, separators=(',', ':'))} -->"


def parse_header(body: str) -> dict[str, Any] | None:
    """The JSON of a comment's hidden header, or None when the body is not one of ours."""
    start = body.find(f"<!-- {MARKER} ")
    if start < 0:
        return None
    end = body.find(" -->", start)
    try:
        data = json.loads(body[start + len(MARKER) + 6 : end])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def _failed_plans(plans: Sequence[EnvironmentPlan]) -> list[str]:
    broken = [plan for plan in plans if plan.problem]
    if not broken:
        return []
    lines = ["> [!CAUTION]", f"> **{len(broken)} plan(s) failed.** Nothing in them can be applied:"]
    for plan in broken:
        lines.append(f"> - `{plan.environment}`: **plan failed**: {plan.problem}")
    return [*lines, ""]


def _callouts(plans: Sequence[EnvironmentPlan], detail: _Detail) -> list[str]:
    dangerous = [
        (plan.environment, change)
        for plan in plans
        for change in plan.changes
        if change.action in DANGEROUS
    ]
    if not dangerous:
        return []
    # Data-bearing resources first: with more than MAX_CALLOUTS, they are never the ones cut.
    dangerous.sort(key=lambda item: item[1].resource_type not in DATA_BEARING_TYPES)
    what = "destroyed or replaced"
    if any(change.action == "forget" for _, change in dangerous):
        what = "destroyed, replaced or no longer managed by Terraform"
    lines = ["> [!CAUTION]", f"> **{len(dangerous)} resource(s) will be {what}.** Check each one:"]
    for environment, change in dangerous[:MAX_CALLOUTS]:
        name = f"`{change.address}`"
        if change.resource_type in DATA_BEARING_TYPES:
            name = f"**{name} (holds data)**"
        notes = f": {'; '.join(change.notes)}" if change.notes else ""
        lines.append(f"> - `{environment}`: **{change.action}** {name}{notes}")
    if len(dangerous) > MAX_CALLOUTS:
        where = "the sections below" if detail.max_resources is None else "the full plan"
        lines.append(f"> - ... and {len(dangerous) - MAX_CALLOUTS} more (full list in {where})")
    return [*lines, ""]


def _releases(plans: Sequence[EnvironmentPlan]) -> list[str]:
    rolled = [plan for plan in plans if plan.release and not plan.problem]
    if not rolled:
        return []
    lines = ["> [!NOTE]", "> **A new release rolls out after the merge:**"]
    lines += [release_line(plan.environment, plan.release) for plan in rolled if plan.release]
    return [*lines, ""]


CHECK_WORDS = {
    "fail": "**failed**",
    "error": "**errored** (its condition could not be evaluated)",
    "unknown": "**unknown** until apply (its condition depends on values known only then)",
}


def _check_warnings(plans: Sequence[EnvironmentPlan]) -> list[str]:
    """Failed or unknown checks, the way Terraform warns of them after its plan."""
    found = [(plan.environment, check) for plan in plans for check in plan.checks]
    if not found:
        return []
    lines = ["> [!WARNING]", f"> **{len(found)} check(s) did not pass:**"]
    for environment, check in found[:MAX_CALLOUTS]:
        said = CHECK_WORDS.get(check.status, f"**{check.status}**")
        message = f": {' / '.join(check.messages)}" if check.messages else ""
        lines.append(f"> - `{environment}`: {check.subject} {said}{message}")
    if len(found) > MAX_CALLOUTS:
        lines.append(f"> - ... and {len(found) - MAX_CALLOUTS} more")
    return [*lines, ""]


def _summary_table(plans: Sequence[EnvironmentPlan]) -> list[str]:
    lines = [
        f"| environment | {' | '.join(COUNT_WORDS)} | fingerprint |",
        f"| --- |{' ---: |' * len(COUNT_WORDS)} --- |",
    ]
    dashes = " - |" * len(COUNT_WORDS)
    for plan in plans:
        if plan.failed:
            lines.append(f"| `{plan.environment}` |{dashes} **no plan** |")
            continue
        if plan.problem:
            lines.append(f"| `{plan.environment}` |{dashes} **plan failed** |")
            continue
        c = plan.counts
        cells = " | ".join(str(c[word]) for word in COUNT_WORDS)
        lines.append(f"| `{plan.environment}` | {cells} | `{_short(plan.fingerprint)}` |")
    return [*lines, ""]


def _change_lines(change: ResourceChange, detail: _Detail, *also: str) -> list[str]:
    said = (*also, *change.notes)
    notes = f"  # {'; '.join(said)}" if said else ""
    lines = [f"{DIFF_MARKS.get(change.action, '~')} {change.address}{notes}"]
    if not detail.names or change.action == "forget":  # its values stay as they are
        return lines
    for attribute in change.attributes:
        forces = "  # forces replacement" if attribute.forces_replacement else ""
        if detail.values:
            lines.append(f"    {attribute.name}: {attribute.before} -> {attribute.after}{forces}")
        else:
            lines.append(f"    {attribute.name}{forces}")
    return lines


def _drift_lines(plan: EnvironmentPlan, detail: _Detail) -> list[str]:
    """Terraform's "Objects have changed outside of Terraform", folded."""
    if not plan.drift:
        return []
    shown = plan.drift if detail.max_resources is None else plan.drift[: detail.max_resources]
    lines = [
        f"<details><summary>Objects have changed outside of Terraform ({len(plan.drift)})"
        "</summary>",
        "",
        "```diff",
    ]
    for change in shown:
        lines += _change_lines(change, detail, DRIFT_WORDS.get(change.action, change.action))
    if len(plan.drift) > len(shown):
        hidden = len(plan.drift) - len(shown)
        lines.append(f"# ... {hidden} more not shown here")
        detail.left_out.append(f"{hidden} outside change(s) of `{plan.environment}`")
    return [*lines, "```", "", "</details>", ""]


def _deferred_lines(plan: EnvironmentPlan) -> list[str]:
    if not plan.deferred:
        return []
    lines = [f"Deferred to a later plan ({len(plan.deferred)}; not counted, not applied by this):"]
    lines += [f"- `{d.address}`: {d.action} ({d.reason})" for d in plan.deferred]
    return [*lines, ""]


def _section(plan: EnvironmentPlan, detail: _Detail) -> list[str]:
    if plan.failed:
        return [
            f"**`{plan.environment}`: no plan.** Its plan job failed (see the workflow run); "
            "merging now would stop at its deploy, which finds no reviewed plan.",
            "",
        ]
    if plan.problem:
        return [
            f"**`{plan.environment}`: plan failed.** {plan.problem[0].upper()}{plan.problem[1:]}."
            " It has no fingerprint, so no deploy accepts it; fix the error and plan again.",
            "",
        ]
    extra = _drift_lines(plan, detail) + _deferred_lines(plan)
    if not plan.has_changes:
        return [
            f"**`{plan.environment}`: no changes.** The infrastructure matches the code.",
            "",
            *extra,
        ]
    summary = describe_counts(plan.counts, "outputs only")
    lines = [f"<details><summary><b><code>{plan.environment}</code></b>: {summary}</summary>", ""]
    lines.append("```diff")
    shown = plan.changes if detail.max_resources is None else plan.changes[: detail.max_resources]
    for change in shown:
        lines += _change_lines(change, detail)
    hidden = len(plan.changes) - len(shown)
    if hidden:
        lines.append(f"# ... {hidden} more resource change(s) not shown here")
        detail.left_out.append(f"{hidden} resource change(s) of `{plan.environment}`")
    for name, action in plan.outputs.items():
        lines.append(f"{DIFF_MARKS.get(action, '~')} output.{name}")
    lines += ["```", "", *extra, "</details>", ""]
    return lines


def _attributes_left_out(plans: Sequence[EnvironmentPlan], detail: _Detail) -> list[str]:
    """What a shortened comment says it dropped of the changed attributes, if any were there."""
    if not any(change.attributes for plan in plans for change in (*plan.changes, *plan.drift)):
        return []
    if not detail.names:
        return ["the changed attributes"]
    return [] if detail.values else ["the changed attributes' values"]


def _render(plans: Sequence[EnvironmentPlan], context: CommentContext, detail: _Detail) -> str:
    commit = f"`{context.commit[:12]}`" if context.commit else context.subject
    lines = [header(plans, context), f"### {context.title} for {commit}", ""]
    if context.no_plan_reason:
        lines += [f"**No plan:** {context.no_plan_reason}", ""]
    else:
        lines += _failed_plans(plans)
        lines += _callouts(plans, detail)
        lines += _releases(plans)
        lines += _check_warnings(plans)
        lines += _summary_table(plans)
    if context.policy_summary:
        lines += [f"**Policy gate:** {context.policy_summary}", ""]
    if not context.no_plan_reason:
        for plan in plans:
            lines += _section(plan, detail)
    left_out = [*_attributes_left_out(plans, detail), *detail.left_out]
    if left_out:
        lines += [
            f"> [!NOTE]\n> Shortened to fit GitHub's comment limit: left out "
            f"{'; '.join(left_out)}. The full plan is in {context.full_plan_location}.",
            "",
        ]
    with_changes = sum(1 for plan in plans if plan.has_changes)
    footer = f"{len(plans)} environment(s), {with_changes} with changes."
    if broken := sum(1 for plan in plans if plan.problem):
        footer = footer.removesuffix(".") + f", {broken} failed."
        footer += " Fix the failed plan(s) and plan again: their deploys would stop."
    elif with_changes and not context.no_plan_reason and context.merge_note:
        footer += " Merging applies exactly these plans: each deploy job re-plans and stops if"
        footer += " its fingerprint differs from the one above."
    if context.run_url:
        footer += f" [Workflow run]({context.run_url})."
    lines.append(footer)
    return "\n".join(lines) + "\n"


def render(plans: Sequence[EnvironmentPlan], context: CommentContext) -> str:
    """The comment's markdown, shortened step by step until it fits `context.limit`."""
    budget = context.limit - SAFETY_MARGIN
    attempts = [_Detail(), _Detail(values=False), _Detail(values=False, names=False)]
    for detail in attempts:
        text = _render(plans, context, detail)
        if len(text) <= budget:
            return text
    largest = max((len(plan.changes) for plan in plans), default=0)
    cap = largest
    while cap > 0:
        cap //= 2
        text = _render(plans, context, _Detail(values=False, names=False, max_resources=cap))
        if len(text) <= budget:
            return text
    return text
