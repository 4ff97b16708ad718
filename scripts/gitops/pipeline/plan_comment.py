"""The pull-request comment: every environment's plan in one comment, within GitHub's limit.

Reading order, as reviewers need it: destroys and replacements first (impossible to miss),
then a table of counts and fingerprints, the policy summary, one folded section per
environment listing each changed resource with its changed attributes, and a footer with the
next step. A hidden header carries the commit and the fingerprints as JSON, so the workflow
finds its own comment and the deploy job can compare what was reviewed with what it plans.

When the full text exceeds GitHub's 65,536 characters, detail is shed in steps (attribute
values, then attribute names, then resources beyond a count), never the summary or the counts,
and the comment says what it left out and where the full plan is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.errors import UsageError
from gitops.terraform.plan_json import (
    AttributeChange,
    ResourceChange,
    check_plan,
    counts,
    describe_counts,
    fingerprint,
    output_changes,
    read_json,
    resource_changes,
)

MARKER = "gitops-plan-comment"
SUMMARY_FORMAT = "gitops-plan-summary/1"
"""Tag of a plan summary file: an environment's plan as the comment shows it, already masked."""
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
DIFF_MARKS = {"add": "+", "destroy": "-", "change": "~", "replace": "-/+"}


@dataclass(frozen=True)
class EnvironmentPlan:
    environment: str
    changes: tuple[ResourceChange, ...]
    outputs: dict[str, str]
    fingerprint: str
    failed: bool = False
    """No plan came (its job failed): the comment says so and holds no fingerprint for it."""

    @classmethod
    def missing(cls, environment: str) -> EnvironmentPlan:
        return cls(environment, (), {}, "", failed=True)

    @classmethod
    def from_plan(cls, environment: str, plan: dict[str, Any]) -> EnvironmentPlan:
        return cls(
            environment,
            tuple(resource_changes(plan)),
            output_changes(plan),
            fingerprint(plan),
        )

    @property
    def counts(self) -> dict[str, int]:
        return counts(list(self.changes))

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.outputs)

    def to_summary(self) -> dict[str, Any]:
        """The plan as the comment needs it: safe to upload, since values are already masked.

        The raw plan JSON holds sensitive values in clear; only this summary leaves the job
        that planned, and the comment job renders from it.
        """
        return {
            "format": SUMMARY_FORMAT,
            "environment": self.environment,
            "fingerprint": self.fingerprint,
            "outputs": self.outputs,
            "changes": [
                {
                    "address": change.address,
                    "type": change.resource_type,
                    "action": change.action,
                    "attributes": [[a.name, a.before, a.after] for a in change.attributes],
                }
                for change in self.changes
            ],
        }

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> EnvironmentPlan:
        changes = tuple(
            ResourceChange(
                change["address"],
                change["type"],
                change["action"],
                tuple(AttributeChange(*attribute) for attribute in change["attributes"]),
            )
            for change in summary["changes"]
        )
        return cls(
            summary["environment"], changes, dict(summary["outputs"]), summary["fingerprint"]
        )


def load_environment_plan(environment: str, path: Path) -> EnvironmentPlan:
    """An environment's plan from `terraform show -json` output or from a plan summary file."""
    document = read_json(path)
    if not isinstance(document, dict) or document.get("format") != SUMMARY_FORMAT:
        return EnvironmentPlan.from_plan(environment, check_plan(document, path))
    try:
        plan = EnvironmentPlan.from_summary(document)
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"{path}: not a valid plan summary ({error})") from None
    if plan.environment != environment:
        raise UsageError(f"{path}: this is the plan of {plan.environment!r}, not {environment!r}")
    return plan


@dataclass(frozen=True)
class CommentContext:
    commit: str | None = None
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
        "fingerprints": {p.environment: p.fingerprint for p in plans if not p.failed},
        "counts": {p.environment: p.counts for p in plans if not p.failed},
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


def _callouts(plans: Sequence[EnvironmentPlan]) -> list[str]:
    dangerous = [
        (plan.environment, change)
        for plan in plans
        for change in plan.changes
        if change.action in ("destroy", "replace")
    ]
    if not dangerous:
        return []
    # Data-bearing resources first: with more than MAX_CALLOUTS, they are never the ones cut.
    dangerous.sort(key=lambda item: item[1].resource_type not in DATA_BEARING_TYPES)
    lines = [
        "> [!CAUTION]",
        f"> **{len(dangerous)} resource(s) will be destroyed or replaced.** Check each one:",
    ]
    for environment, change in dangerous[:MAX_CALLOUTS]:
        name = f"`{change.address}`"
        if change.resource_type in DATA_BEARING_TYPES:
            name = f"**{name} (holds data)**"
        lines.append(f"> - `{environment}`: **{change.action}** {name}")
    if len(dangerous) > MAX_CALLOUTS:
        lines.append(
            f"> - ... and {len(dangerous) - MAX_CALLOUTS} more (full list in the sections below)"
        )
    return [*lines, ""]


def _summary_table(plans: Sequence[EnvironmentPlan]) -> list[str]:
    lines = [
        "| environment | add | change | replace | destroy | fingerprint |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for plan in plans:
        if plan.failed:
            lines.append(f"| `{plan.environment}` | - | - | - | - | **no plan** |")
            continue
        c = plan.counts
        lines.append(
            f"| `{plan.environment}` | {c['add']} | {c['change']} | {c['replace']} | "
            f"{c['destroy']} | `{_short(plan.fingerprint)}` |"
        )
    return [*lines, ""]


def _section(plan: EnvironmentPlan, detail: _Detail) -> list[str]:
    if plan.failed:
        return [
            f"**`{plan.environment}`: no plan.** Its plan job failed (see the workflow run); "
            "merging now would stop at its deploy, which finds no reviewed plan.",
            "",
        ]
    if not plan.has_changes:
        return [f"**`{plan.environment}`: no changes.** The infrastructure matches the code.", ""]
    c = plan.counts
    summary = describe_counts(c, "outputs only")
    lines = [f"<details><summary><b><code>{plan.environment}</code></b>: {summary}</summary>", ""]
    lines.append("```diff")
    shown = plan.changes if detail.max_resources is None else plan.changes[: detail.max_resources]
    for change in shown:
        lines.append(f"{DIFF_MARKS[change.action]} {change.address}")
        if detail.names:
            for attribute in change.attributes:
                if detail.values:
                    lines.append(f"    {attribute.name}: {attribute.before} -> {attribute.after}")
                else:
                    lines.append(f"    {attribute.name}")
    hidden = len(plan.changes) - len(shown)
    if hidden:
        lines.append(f"# ... {hidden} more resource change(s) not shown here")
        detail.left_out.append(f"{hidden} resource change(s) of `{plan.environment}`")
    for name, action in plan.outputs.items():
        lines.append(f"{DIFF_MARKS.get(action, '~')} output.{name}")
    lines += ["```", "", "</details>", ""]
    return lines


def _render(plans: Sequence[EnvironmentPlan], context: CommentContext, detail: _Detail) -> str:
    commit = f"`{context.commit[:12]}`" if context.commit else context.subject
    lines = [header(plans, context), f"### {context.title} for {commit}", ""]
    if context.no_plan_reason:
        lines += [f"**No plan:** {context.no_plan_reason}", ""]
    else:
        lines += _callouts(plans)
        lines += _summary_table(plans)
    if context.policy_summary:
        lines += [f"**Policy gate:** {context.policy_summary}", ""]
    if not context.no_plan_reason:
        for plan in plans:
            lines += _section(plan, detail)
    if detail.left_out:
        lines += [
            f"> [!NOTE]\n> Shortened to fit GitHub's comment limit: left out "
            f"{'; '.join(detail.left_out)}. The full plan is in {context.full_plan_location}.",
            "",
        ]
    with_changes = sum(1 for plan in plans if plan.has_changes)
    footer = f"{len(plans)} environment(s), {with_changes} with changes."
    if with_changes and not context.no_plan_reason and context.merge_note:
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
