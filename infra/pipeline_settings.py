"""The `pipeline:` section of an environment file: where the environment sits in the pipeline.

Whether the pipeline plans and deploys an environment at all, its deploy wave, and the two roles
the workflows assume in its account. The roles follow the names `gitops bootstrap` gives them
(`fraud-gitops-plan-<env>`, `fraud-gitops-apply-<env>`), so a new environment needs no
repository variable; a file names other roles only when its account was set up another way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_WAVES = 4
"""deploy.yml has this many wave jobs; GitHub cannot add jobs at run time, so a higher wave is
refused here rather than silently never deployed."""

ROLE_NAME_PREFIX = "fraud-gitops"
PLAN_ENVIRONMENT_SUFFIX = "-plan"
"""Pull requests plan environment ENV in the GitHub environment ENV-plan: its plan role trusts
that environment, so its protection rules decide which pull request's code may read the state."""
ROLE_ARN_PATTERN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,64}$"


def partition(region: str) -> str:
    """The ARN partition of a region (`aws`, `aws-us-gov`, `aws-cn`)."""
    if "-gov-" in region:
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


def conventional_role_arn(kind: str, environment: str, account_id: str, region: str) -> str:
    """The ARN `gitops bootstrap` gives the environment's plan or apply role."""
    return f"arn:{partition(region)}:iam::{account_id}:role/{ROLE_NAME_PREFIX}-{kind}-{environment}"


class PipelineConfig(BaseModel):
    """Where the environment sits in the pipeline; left to the defaults, nothing to set up."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    deploy: bool = Field(
        description=(
            "Planned on every pull request, deployed on merge, checked for drift and a promotion"
            " target. False for an environment the pipeline must never touch (the emulator)."
        )
    )
    wave: int | None = Field(
        default=None,
        description=(
            f"Deploy wave, 1 to {MAX_WAVES}: environments of one wave deploy in parallel, waves"
            " in order, and a failed wave stops the later ones. A release is promoted from one"
            " wave to the next. Required when deploy is true, left out otherwise."
        ),
    )
    require_reviewers: bool = Field(
        default=False,
        description=(
            "Is every apply meant to wait for a reviewer (production: PCI DSS change control)?"
            " Then `gitops deploy` first reads the GitHub environment of this name"
            " (GET /repos/OWNER/NAME/environments/ENV) and refuses, applying nothing, when it is"
            ' missing or has no required-reviewers rule with "Prevent self-review" and no'
            " administrator bypass. Left out: false, nothing is checked."
        ),
    )
    require_plan_reviewers: bool = Field(
        default=False,
        description=(
            "Must a reviewer approve before a pull request's code may plan this environment?"
            " The plan role reads the state, which holds the stack's secrets, and a pull"
            " request's code (its workflows included) is not reviewed yet. Pull requests plan"
            " every environment in the GitHub environment ENV-plan, the only pull-request"
            " context the plan role trusts; with this set, `gitops plan-reviewers` refuses,"
            " before any credentials are fetched, while ENV-plan has no required-reviewers rule"
            ' with "Prevent self-review" and no administrator bypass. No waiver covers it. Left'
            " out: false, ENV-plan needs no rule."
        ),
    )
    reviewers_waiver: str | None = Field(
        default=None,
        min_length=10,
        description=(
            "Why GitHub cannot enforce the reviewers here (say, a private repository on a plan"
            " without required reviewers) and who accepted that: the deploy then warns loudly in"
            " its log and summary instead of refusing. Only with require_reviewers (applies; plans"
            " have no waiver); left out: the deploy refuses."
        ),
    )
    plan_role_arn: str | None = Field(
        default=None,
        pattern=ROLE_ARN_PATTERN,
        description="Read-only role for plans and drift; default fraud-gitops-plan-<env>.",
    )
    apply_role_arn: str | None = Field(
        default=None,
        pattern=ROLE_ARN_PATTERN,
        description="Role that applies on merge; default fraud-gitops-apply-<env>.",
    )

    @field_validator("wave", mode="before")
    @classmethod
    def _wave_in_range(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_WAVES:
            raise ValueError(
                f"wave {value} is outside 1..{MAX_WAVES}: deploy.yml has {MAX_WAVES} wave jobs"
                " (add a wave job there and raise MAX_WAVES in infra/pipeline_settings.py first)"
            )
        return value

    @model_validator(mode="after")
    def _wave_only_when_deployed(self) -> PipelineConfig:
        if self.deploy and self.wave is None:
            raise ValueError("wave: required when deploy is true (which wave deploys it?)")
        if not self.deploy and self.wave is not None:
            raise ValueError("wave: only an environment the pipeline deploys has a wave")
        if self.require_reviewers and not self.deploy:
            raise ValueError("require_reviewers: only an environment the pipeline deploys")
        if self.require_plan_reviewers and not self.deploy:
            raise ValueError("require_plan_reviewers: only an environment the pipeline deploys")
        if self.reviewers_waiver is not None and not self.require_reviewers:
            raise ValueError(
                "reviewers_waiver: only with require_reviewers: true (there is nothing to waive)"
            )
        return self
