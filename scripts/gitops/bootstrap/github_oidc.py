"""GitHub Actions' way into an AWS account: the OIDC identity provider and two roles per
environment, whose trust policies accept only this repository and the right workflow context.

- plan role (read-only): pull requests of the repository and runs on `main` (drift checks).
  `ReadOnlyAccess`, plus the state lock table and state bucket it must use to plan.
- apply role: only jobs running in the repository's GitHub environment of the same name, so
  the environment's protection rules (prod: a required reviewer) guard every apply.
  `AdministratorAccess`: the stack creates IAM roles, KMS keys and networks; the guard is who
  may assume it, not what it may do.
Trust policies pin the audience and the subject exactly; no wildcard subject is ever written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from gitops.errors import UsageError
from infra.config import EnvironmentConfig

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"  # pragma: allowlist secret
"""Published thumbprint of GitHub's OIDC certificate chain (AWS no longer relies on it for
GitHub, but the API still takes one)."""
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def check_repository(repository: str) -> str:
    if not REPOSITORY_PATTERN.match(repository):
        raise UsageError(f"--github-repository {repository!r}: expected OWNER/NAME")
    return repository


def plan_subjects(repository: str) -> list[str]:
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]


def apply_subjects(repository: str, environment: str) -> list[str]:
    return [f"repo:{repository}:environment:{environment}"]


def trust_policy(account_id: str, subjects: list[str]) -> dict[str, Any]:
    provider = f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOfThisRepositoryOnly",
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subjects,
                    }
                },
            }
        ],
    }


def state_access_policy(config: EnvironmentConfig, state_key_arn: str) -> dict[str, Any]:
    """What planning needs beyond read-only: decrypt the state, take and release the lock."""
    state = config.state
    table = f"arn:aws:dynamodb:{state.region}:{config.account_id}:table/{state.lock_table}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TakeTheStateLock",
                "Effect": "Allow",
                "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": [table],
            },
            {
                "Sid": "DecryptTheStateThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [state_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{state.region}.amazonaws.com"}
                },
            },
        ],
    }


def ensure_provider(iam: Any, account_id: str) -> tuple[str, bool]:
    arn = f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
    try:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        return arn, False
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
    created = iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB_OIDC_HOST}",
        ClientIDList=[AUDIENCE],
        ThumbprintList=[GITHUB_THUMBPRINT],
    )
    return created["OpenIDConnectProviderArn"], True


def ensure_role(
    iam: Any, name: str, trust: dict[str, Any], managed_policy: str,
    inline: dict[str, Any] | None = None,
) -> tuple[str, bool]:  # fmt: skip
    """Create the role or bring its trust and policies to what is given; (arn, changed)."""
    changed = False
    try:
        role = iam.get_role(RoleName=name)["Role"]
        current = role["AssumeRolePolicyDocument"]
        current = json.loads(current) if isinstance(current, str) else current
        if current != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            changed = True
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="Assumed by GitHub Actions through OIDC (gitops bootstrap)",
            MaxSessionDuration=3600,
        )["Role"]
        changed = True
    attached = [
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    ]
    if managed_policy not in attached:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed_policy)
        changed = True
    if inline is not None:
        iam.put_role_policy(
            RoleName=name, PolicyName="terraform-state", PolicyDocument=json.dumps(inline)
        )
    return role["Arn"], changed


def ensure_roles(
    client: Callable[[str], Any], config: EnvironmentConfig, repository: str, state_key_arn: str
) -> dict[str, tuple[str, bool]]:
    """The provider and both roles of one environment; name -> (arn, changed)."""
    iam = client("iam")
    provider_arn, provider_changed = ensure_provider(iam, config.account_id)
    plan = ensure_role(
        iam, f"fraud-gitops-plan-{config.name}",
        trust_policy(config.account_id, plan_subjects(repository)),
        READ_ONLY_POLICY, state_access_policy(config, state_key_arn),
    )  # fmt: skip
    apply = ensure_role(
        iam, f"fraud-gitops-apply-{config.name}",
        trust_policy(config.account_id, apply_subjects(repository, config.name)),
        ADMIN_POLICY,
    )  # fmt: skip
    return {
        "oidc_provider": (provider_arn, provider_changed),
        "plan_role": plan,
        "apply_role": apply,
    }
