"""Schema of an environment file's `load_balancer:` section: the ALB and who may reach it.

Kept beside `infra.config` (which composes it), like `infra.blue_green_config`, so the schema
module stays under 400 lines.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

WIDEST_OPERATOR_PREFIX = 8


class Model(BaseModel):
    """Same rules as every section of `infra.config`: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _operator_network(value: str) -> str:
    """A valid IPv4 block no wider than /8, so `0.0.0.0/0` cannot open the load balancer to
    everyone by way of the operator rule."""
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"not a valid IPv4 CIDR block ({error})") from None
    if network.prefixlen < WIDEST_OPERATOR_PREFIX:
        raise ValueError(f"{network} is wider than /8: list the operators' own networks")
    return str(network)


OperatorCidr = Annotated[str, AfterValidator(_operator_network)]


class LoadBalancerConfig(Model):
    domain_name: str = Field(
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description=(
            "Domain of the API's load balancer. The HTTPS listener presents the newest issued"
            " ACM certificate for it (found by name, so renewals need no change here); its DNS"
            " record is managed outside this stack; API Gateway forwards to https://<domain_name>."
        ),
    )
    deletion_protection: bool = Field(description="Refuse to delete the load balancer while set.")
    operator_cidrs: tuple[OperatorCidr, ...] = Field(
        default=(),
        description=(
            "Networks whose requests the load balancer's web ACL lets through without API"
            " Gateway's origin header, on every listener (the blue/green test listener too);"
            " left out, none: only API Gateway gets in."
        ),
    )
    origin_secret_rotation_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days between new values of the origin header secret; left out, 30.",
    )

    @field_validator("operator_cidrs", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value
