"""Schema of an environment file's `blue_green:` section: how a release reaches traffic.

Kept beside `infra.config` (which composes it) so that the CodeDeploy-specific settings move
with `infra/blue_green.py` when the stack moves to ECS's own blue/green deployments.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


class Model(BaseModel):
    """Same rules as every section of `infra.config`: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


PREDEFINED_ECS_DEPLOYMENT_CONFIGS: tuple[str, ...] = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)
"""CodeDeploy's own ECS deployment configurations, usable by name."""

ALL_AT_ONCE = "CodeDeployDefault.ECSAllAtOnce"


class TrafficShift(Model):
    """How CodeDeploy moves production traffic to the new tasks.

    Written in the file either as one of CodeDeploy's predefined ECS configuration names, or as
    `{canary: {percent: P, minutes: M}}` (P% first, the rest after M minutes) or
    `{linear: {percent: P, minutes: M}}` (P% more every M minutes), which the stack turns into
    an `aws_codedeploy_deployment_config`.
    """

    predefined: str | None = None
    kind: Literal["canary", "linear"] | None = None
    percent: int | None = Field(default=None, ge=1, le=99)
    minutes: int | None = Field(default=None, ge=1, le=2880)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in PREDEFINED_ECS_DEPLOYMENT_CONFIGS:
                raise ValueError(
                    f"{value!r} is not a CodeDeploy ECS configuration: use one of "
                    f"{', '.join(PREDEFINED_ECS_DEPLOYMENT_CONFIGS)}, or "
                    "{canary: {percent: P, minutes: M}} or {linear: {percent: P, minutes: M}}"
                )
            return {"predefined": value}
        if (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in ("canary", "linear")
        ):
            kind, shape = next(iter(value.items()))
            if not isinstance(shape, dict) or set(shape) != {"percent", "minutes"}:
                raise ValueError(f"{kind}: expected exactly {{percent: P, minutes: M}}")
            return {"kind": kind, **shape}
        if isinstance(value, dict) and ("predefined" in value or "kind" in value):
            return value  # already in the model's own shape (a copy of a loaded config)
        raise ValueError(
            "expected a CodeDeploy ECS configuration name, {canary: {percent: P, minutes: M}} or"
            f" {{linear: {{percent: P, minutes: M}}}} (got {value!r})"
        )

    @model_validator(mode="after")
    def _one_complete_shape(self) -> TrafficShift:
        # The model's own shape is accepted too (a copy of a loaded config), so a file can
        # reach here with `predefined: <anything>` or a half-filled canary: refuse both.
        if self.predefined is not None:
            if self.predefined not in PREDEFINED_ECS_DEPLOYMENT_CONFIGS:
                raise ValueError(
                    f"{self.predefined!r} is not a CodeDeploy ECS configuration: use one of "
                    f"{', '.join(PREDEFINED_ECS_DEPLOYMENT_CONFIGS)}"
                )
            if (self.kind, self.percent, self.minutes) != (None, None, None):
                raise ValueError("a predefined configuration takes no kind, percent or minutes")
        elif self.kind is None or self.percent is None or self.minutes is None:
            raise ValueError(
                "expected a CodeDeploy ECS configuration name, {canary: {percent: P, minutes: M}}"
                " or {linear: {percent: P, minutes: M}}"
            )
        return self

    @property
    def is_all_at_once(self) -> bool:
        return self.predefined == ALL_AT_ONCE

    def describe(self) -> str:
        """How a reader says it: `canary 10% then the rest after 5 min`."""
        if self.predefined:
            return self.predefined
        if self.kind == "canary":
            return f"canary {self.percent}% then the rest after {self.minutes} min"
        return f"linear {self.percent}% every {self.minutes} min"


def _test_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"not a valid IPv4 CIDR block ({error})") from None
    if network.prefixlen < 8:
        raise ValueError(
            f"{value} is /{network.prefixlen}: the test listener is for operators; list their"
            " networks (/8 or narrower), never the internet"
        )
    return str(network)


class TestListenerConfig(Model):
    """The ALB listener where a release answers on the standby target group before traffic moves."""

    port: int = Field(
        default=8443,
        ge=1024,
        le=65535,
        description="HTTPS port of the test listener; left out, 8443.",
    )
    allowed_cidrs: tuple[Annotated[str, AfterValidator(_test_cidr)], ...] = Field(
        default=(),
        description="Networks that may reach the test port; left out or empty, none (no ingress).",
    )

    @field_validator("allowed_cidrs", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


class BlueGreenConfig(Model):
    """How a new task definition reaches production: CodeDeploy blue/green over the two groups."""

    deployment_config: TrafficShift = Field(
        description="Traffic shifting: a predefined ECS configuration or canary/linear steps."
    )
    test_listener: TestListenerConfig = Field(default_factory=TestListenerConfig)
    ready_wait_minutes: int = Field(
        default=0,
        ge=0,
        le=2880,
        description=(
            "0 (the default): traffic starts moving as soon as the new tasks are healthy. N: the"
            " deployment waits up to N minutes for someone to continue it after testing on the"
            " test listener, and stops if nobody does."
        ),
    )
    termination_wait_minutes: int = Field(
        default=5,
        ge=0,
        le=2880,
        description="How long the old tasks keep running after success; left out, 5 minutes.",
    )
    timeout_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        description="How long `gitops deploy` follows a deployment before failing; default 60.",
    )
