"""One environment's plan as a reviewer reads it, and its masked summary file.

`gitops plan` writes the summary beside the raw plan JSON; only the summary leaves the job that
planned (the raw JSON holds sensitive values in clear), and the comment job renders from it
exactly what it would render from the plan itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import UsageError
from gitops.pipeline.release_callout import release_of
from gitops.terraform.plan_fingerprint import fingerprint
from gitops.terraform.plan_json import (
    CheckResult,
    DeferredChange,
    ResourceChange,
    check_plan,
    check_results,
    counts,
    deferred_changes,
    output_changes,
    plan_problem,
    read_json,
    resource_changes,
    resource_drift,
)
from gitops.terraform.plan_values import AttributeChange

SUMMARY_FORMAT = "gitops-plan-summary/1"
"""Tag of a plan summary file: an environment's plan as the comment shows it, already masked."""


@dataclass(frozen=True)
class EnvironmentPlan:
    environment: str
    changes: tuple[ResourceChange, ...]
    outputs: dict[str, str]
    fingerprint: str
    failed: bool = False
    """No plan came (its job failed): the comment says so and holds no fingerprint for it."""
    drift: tuple[ResourceChange, ...] = ()
    """Objects changed outside Terraform, found by the plan's refresh."""
    checks: tuple[CheckResult, ...] = ()
    """Checks and conditions that failed or are unknown until apply."""
    deferred: tuple[DeferredChange, ...] = ()
    """Changes Terraform left for a later plan; never counted, never applied by this one."""
    problem: str | None = None
    """Why the plan cannot be applied (errored, incomplete); it then has no fingerprint."""
    release: dict[str, Any] | None = None
    """The image and version this plan rolls out blue/green (release_callout), if any."""

    @classmethod
    def missing(cls, environment: str) -> EnvironmentPlan:
        return cls(environment, (), {}, "", failed=True)

    @classmethod
    def from_plan(cls, environment: str, plan: dict[str, Any]) -> EnvironmentPlan:
        problem = plan_problem(plan)
        return cls(
            environment,
            tuple(resource_changes(plan)),
            output_changes(plan),
            "" if problem else fingerprint(plan),
            drift=tuple(resource_drift(plan)),
            checks=tuple(check_results(plan)),
            deferred=tuple(deferred_changes(plan)),
            problem=problem,
            release=release_of(plan),
        )

    @property
    def counts(self) -> dict[str, int]:
        return counts(list(self.changes))

    @property
    def reviewable(self) -> bool:
        """A plan a deploy may apply: it came, and Terraform finished it without errors."""
        return not self.failed and not self.problem

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
            "problem": self.problem,
            "release": self.release,
            "outputs": self.outputs,
            "changes": [_change_summary(change) for change in self.changes],
            "drift": [_change_summary(change) for change in self.drift],
            "checks": [{**vars(check), "messages": list(check.messages)} for check in self.checks],
            "deferred": [
                {"address": d.address, "action": d.action, "reason": d.reason}
                for d in self.deferred
            ],
        }

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> EnvironmentPlan:
        return cls(
            summary["environment"],
            tuple(_change_from_summary(change) for change in summary["changes"]),
            dict(summary["outputs"]),
            summary["fingerprint"],
            drift=tuple(_change_from_summary(change) for change in summary.get("drift", ())),
            checks=tuple(
                CheckResult(c["address"], c["kind"], c["status"], tuple(c["messages"]))
                for c in summary.get("checks", ())
            ),
            deferred=tuple(
                DeferredChange(d["address"], d["action"], d["reason"])
                for d in summary.get("deferred", ())
            ),
            problem=summary.get("problem"),
            release=summary.get("release"),
        )


def _change_summary(change: ResourceChange) -> dict[str, Any]:
    return {
        "address": change.address,
        "type": change.resource_type,
        "action": change.action,
        "attributes": [
            [a.name, a.before, a.after, a.forces_replacement] for a in change.attributes
        ],
        "previous_address": change.previous_address,
        "import_id": change.import_id,
        "reason": change.reason,
        "deposed": change.deposed,
    }


def _change_from_summary(change: dict[str, Any]) -> ResourceChange:
    return ResourceChange(
        change["address"],
        change["type"],
        change["action"],
        tuple(AttributeChange(*attribute) for attribute in change["attributes"]),
        previous_address=change.get("previous_address"),
        import_id=change.get("import_id"),
        reason=change.get("reason"),
        deposed=change.get("deposed"),
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
