"""The origin-verification values: the header API Gateway adds and the ALB's web ACL demands.

Terraform owns the values and never reads them back from AWS, so planning needs no permission
to read a secret (issue #14):

- the rotation period n is the number of whole `rotation_days` periods since the epoch,
  computed from `plantimestamp()`: the first plan after each boundary rotates;
- three values, A, B and C, are `terraform_data` resources (built into Terraform: no provider
  and no AWS call). Each is generated once, by Terraform, and kept until its generation marker
  changes: A's marker is floor(n / 3), B's floor((n + 2) / 3), C's floor((n + 1) / 3). A is
  replaced when n mod 3 is 0, B when it is 1, C when it is 2, so each value lives three periods;
- the web ACL accepts all three; API Gateway sends the one replaced a period ago (C when
  n mod 3 is 0, A when 1, B when 2). So a value is in the ACL for a whole period before API
  Gateway sends it (WAF has long propagated it), is sent for one period, and stays accepted for
  one more after that (requests in flight keep passing). When a period turns, one apply adds the
  next value and sends the one added a period earlier: no request is ever refused for a value
  WAF has not yet propagated, nor for one just replaced;
- no copy goes to Secrets Manager: the provider refreshes a secret version with
  `GetSecretValue` (write-only or not), which would give every pull request's plan job a secret
  value to read, and nothing but the web ACL and API Gateway uses the value.

The values do reach the state of the value resources, the web ACL and the integrations
(encrypted in the state bucket): WAF and API Gateway take them as plain arguments. Every use is
wrapped in `sensitive()`, so plans, comments and logs show `(sensitive)`.

If two or more period boundaries pass with no apply in between, the next apply replaces two
values at once (three, after three boundaries), among them the one sent until then, and sends
one it has just added: requests in flight, and those sent before WAF propagates the new value,
can be refused for those seconds. The daily drift job shows the rotation on the boundary day;
deploy at least once a period.
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
SLOTS = ("a", "b", "c")
GENERATION = {"a": "floor({n} / 3)", "b": "floor(({n} + 2) / 3)", "c": "floor(({n} + 1) / 3)"}
"""Each value's generation marker as a function of the period n: A's changes when n mod 3
becomes 0, B's when it becomes 1, C's when it becomes 2."""
CURRENT = "{n} % 3 == 0 ? {c} : ({n} % 3 == 1 ? {a} : {b})"
"""The value API Gateway sends in period n: the one replaced a period ago, already accepted by
the web ACL for that whole period."""


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
    value is accepted for 90: 30 before it is sent, 30 while, 30 after."""

    def __post_init__(self) -> None:
        if not 1 <= self.rotation_days <= 365:
            raise ValueError(
                f"OriginVerificationProps.rotation_days {self.rotation_days}: use 1 to 365"
            )


class OriginVerification(Construct):
    """Three staggered values: `current_value` (sent) and `accepted_values` (all, in the ACL)."""

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
        slots = {slot: _hcl(values[slot].expression) for slot in SLOTS}
        current = TerraformLocal(self, "current-value", f"${{{CURRENT.format(n=n, **slots)}}}")
        self.current_value: str = Token.as_string(current.expression)
        self.accepted_values: tuple[str, ...] = tuple(
            Token.as_string(values[slot].expression) for slot in SLOTS
        )


def _hcl(token: object) -> str:
    """A token as a string that can sit inside a larger `${...}` expression: cdktf writes the
    reference without its own `${}` there (`${floor(local.x / 2)}`)."""
    return Token.as_string(token)
