"""The origin-verification values: the header API Gateway adds and the ALB's web ACL demands.

Terraform owns both values and never reads them back from AWS, so planning needs no permission
to read a secret (issue #14):

- the rotation period n is the number of whole `rotation_days` periods since the epoch,
  computed from `plantimestamp()`: the first plan after each boundary rotates;
- two values, A and B, are `terraform_data` resources (built into Terraform: no provider and no
  AWS call). Each is generated once, by Terraform, and kept until its generation marker
  changes: A's marker is floor(n / 2), B's floor((n + 1) / 2). A is replaced when n becomes
  even, B when n becomes odd, so each value lives two periods and the two overlap by one;
- API Gateway sends the value replaced most recently (A when n is even, B when odd); the web
  ACL accepts both. When a period turns, the new value is accepted and sent in the same apply
  (the integrations depend on the ACL, so the ACL is updated first), and the value sent until
  then stays accepted for one more period: no request in flight is refused;
- no copy goes to Secrets Manager: the provider refreshes a secret version with
  `GetSecretValue` (write-only or not), which would give every pull request's plan job a secret
  value to read, and nothing but the web ACL and API Gateway uses the value.

The values do reach the state of the value resources, the web ACL and the integrations
(encrypted in the state bucket): WAF and API Gateway take them as plain arguments. Every use is
wrapped in `sensitive()`, so plans, comments and logs show `(sensitive)`.

If two period boundaries pass with no apply in between, the next apply replaces both values at
once: requests in flight with the old value during that apply can be refused for the seconds WAF
takes to propagate. The daily drift job shows the rotation on the boundary day; deploy within a
period.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import DataResource, TerraformLocal, TerraformResourceLifecycle, Token
from constructs import Construct

HEADER_NAME = "x-origin-verify"
"""Lower case: WAF matches header names case-insensitively, API Gateway sends it as written."""
VALUE_EXPRESSION = 'join("", [replace(uuid(), "-", ""), replace(uuid(), "-", "")])'
"""64 hex characters: two of Terraform's `uuid()`, which draws all 128 bits of each from Go's
`crypto/rand` (hashicorp/go-uuid). Hex only, so the value needs no quoting in API Gateway."""
SLOTS = ("a", "b")
GENERATION = {"a": "floor({n} / 2)", "b": "floor(({n} + 1) / 2)"}
"""Each value's generation marker as a function of the period n: A's changes when n becomes
even, B's when n becomes odd."""
CURRENT = "{n} % 2 == 0 ? {a} : {b}"
"""The value API Gateway sends in period n: the one replaced most recently."""


def days_since_epoch(timestamp: str) -> str:
    """An HCL expression: whole days from 1970-01-01 to `timestamp` (an RFC 3339 expression).

    Terraform has no epoch function; this is the proleptic Gregorian day count (March-based
    years, so leap days fall at a year's end), built from `formatdate`.
    """
    year = f'tonumber(formatdate("YYYY", {timestamp}))'
    month = f'tonumber(formatdate("M", {timestamp}))'
    day = f'tonumber(formatdate("D", {timestamp}))'
    y = f"({year} - ({month} <= 2 ? 1 : 0))"
    shifted_month = f"(({month} + 9) % 12)"
    return (
        f"(365 * {y} + floor({y} / 4) - floor({y} / 100) + floor({y} / 400)"
        f" + floor((153 * {shifted_month} + 2) / 5) + {day} - 1 - 719468)"
    )


@dataclass(frozen=True)
class OriginVerificationProps:
    rotation_days: int = 30
    """Left out, a new value is sent every 30 days (from the first apply after that), and each
    value is accepted for 60."""

    def __post_init__(self) -> None:
        if not 1 <= self.rotation_days <= 365:
            raise ValueError(
                f"OriginVerificationProps.rotation_days {self.rotation_days}: use 1 to 365"
            )


class OriginVerification(Construct):
    """Two staggered values: `current_value` (sent) and `accepted_values` (both, in the ACL)."""

    header_name = HEADER_NAME

    def __init__(self, scope: Construct, id: str, props: OriginVerificationProps) -> None:
        super().__init__(scope, id)
        self.period = TerraformLocal(
            self,
            "rotation-period",
            f"${{floor({days_since_epoch('plantimestamp()')} / {props.rotation_days})}}",
        )
        n = _hcl(self.period.expression)
        values: dict[str, TerraformLocal] = {}
        for slot in SLOTS:
            # `DataResource` is cdktf's `terraform_data`. It types `input` as a map, so inputs
            # are set as overrides: a number here, a string below.
            generation = DataResource(self, f"generation-{slot}")
            generation.add_override("input", f"${{{GENERATION[slot].format(n=n)}}}")
            value = DataResource(
                self,
                f"value-{slot}",
                # A new value only when the generation changes: `uuid()` is new on every plan,
                # so the input's own changes are ignored. Terraform's JSON syntax wants the
                # trigger as a bare address; given the resource, cdktf would write `${...}`.
                lifecycle=TerraformResourceLifecycle(
                    ignore_changes=["input"],
                    replace_triggered_by=[
                        f"{generation.terraform_resource_type}.{generation.friendly_unique_id}"
                    ],
                ),
            )
            value.add_override("input", f"${{sensitive({VALUE_EXPRESSION})}}")
            # terraform_data's `output` repeats its sensitive input unmarked: mark it again here,
            # so every resource that uses it (web ACL, integrations) holds it as sensitive.
            values[slot] = TerraformLocal(
                self,
                f"value-{slot}-sensitive",
                f"${{sensitive({_hcl(value.get_string_attribute('output'))})}}",
            )
        a, b = (_hcl(values[slot].expression) for slot in SLOTS)
        current = TerraformLocal(self, "current-value", f"${{{CURRENT.format(n=n, a=a, b=b)}}}")
        self.current_value: str = Token.as_string(current.expression)
        self.accepted_values: tuple[str, str] = (
            Token.as_string(values["a"].expression),
            Token.as_string(values["b"].expression),
        )


def _hcl(token: object) -> str:
    """A token as a string that can sit inside a larger `${...}` expression: cdktf writes the
    reference without its own `${}` there (`${floor(local.x / 2)}`)."""
    return Token.as_string(token)
