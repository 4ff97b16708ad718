"""IAM policy documents as plain Python data, rendered to the JSON string resources take.

Tokens (`${aws_x.y.arn}` placeholders from cdktf) are ordinary strings here, so a document can
mix literal ARNs and references; cdktf resolves them when the stack is synthesized.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def statement(
    sid: str,
    actions: Iterable[str],
    resources: Iterable[str] | str | None,
    *,
    principal: Mapping[str, Any] | None = None,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One statement; `sid` says why it exists."""
    body: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        body["Principal"] = dict(principal)
    body["Action"] = sorted(actions)
    if resources is not None:  # trust policies name no resource
        body["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        body["Condition"] = dict(condition)
    return body


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=False)


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to a bucket that does not arrive over TLS."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, f"{bucket_arn}/*"],
        principal={"AWS": "*"},
        effect="Deny",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


def assume_role(service: str, *, account_id: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role, optionally only for this account."""
    condition = {"StringEquals": {"aws:SourceAccount": account_id}} if account_id else None
    return document(
        statement(
            "AssumedBy" + service.split(".")[0].title().replace("-", ""),
            ["sts:AssumeRole"],
            None,
            principal={"Service": service},
            condition=condition,
        )
    )
