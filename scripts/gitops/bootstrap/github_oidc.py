"""GitHub Actions' way into an AWS account: the OIDC identity provider and two roles per
environment, whose trust policies accept only this repository and the right workflow context.

- plan role: trusted by jobs in the repository's GitHub environment `<env>-plan` (where pull
  requests plan: its protection rules decide whose unreviewed code may read the state) and by
  runs on `main` (drift checks); never by every pull request;
- apply role: trusted only by jobs running in the repository's GitHub environment of the same
  name, so the environment's protection rules (prod: a required reviewer) guard every apply.
What each may do is gitops.bootstrap.roles' documents; this module writes them to IAM, removing
whatever else a role holds (an install from before them had AWS managed policies attached).
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
REPOSITORY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9_.-]{1,100}")
"""GitHub's names: an owner of letters, digits and hyphens; a repository of those, `_` and `.`.
The name becomes part of the roles' trust (`repo:OWNER/NAME:...`), so nothing else passes."""


def check_repository(repository: str) -> str:
    if not REPOSITORY_PATTERN.fullmatch(repository) or repository.split("/")[1] in (".", ".."):
        raise UsageError(f"--github-repository {repository!r}: expected OWNER/NAME")
    return repository


def plan_subjects(repository: str, config: EnvironmentConfig) -> list[str]:
    """Never `repo:...:pull_request`: every pull request's code could then read the state."""
    return [
        f"repo:{repository}:environment:{config.plan_github_environment}",
        f"repo:{repository}:ref:refs/heads/main",
    ]


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


def ensure_policy(iam: Any, account_id: str, name: str, policy: dict[str, Any]) -> bool:
    """Create a customer managed policy, or make its default version the given document."""
    arn = f"arn:aws:iam::{account_id}:policy/{name}"
    try:
        current = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        iam.create_policy(
            PolicyName=name,
            PolicyDocument=json.dumps(policy),
            Description="Written by gitops bootstrap (gitops roles shows it)",
        )
        return True
    version = iam.get_policy_version(PolicyArn=arn, VersionId=current["DefaultVersionId"])
    if _as_json(version["PolicyVersion"]["Document"]) == policy:
        return False
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    for old in sorted(versions, key=lambda v: v["CreateDate"])[: max(0, len(versions) - 4)]:
        if not old["IsDefaultVersion"]:  # IAM keeps at most five versions
            iam.delete_policy_version(PolicyArn=arn, VersionId=old["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(policy), SetAsDefault=True)
    return True


def delete_policy(iam: Any, arn: str) -> None:
    """Delete one of bootstrap's own managed policies that a role no longer uses."""
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


def _as_json(document: Any) -> Any:
    """IAM returns documents URL-encoded strings (boto3 decodes them to dicts, moto may not)."""
    if isinstance(document, str):
        from urllib.parse import unquote

        return json.loads(unquote(document))
    return document


def ensure_role(iam: Any, account_id: str, role: dict[str, Any]) -> tuple[str, bool]:
    """Create the role or bring its trust and policies to exactly `role` (a `gitops roles`
    entry): every other attached policy (AWS managed ones of an older install included) is
    detached, and every inline policy deleted."""
    name, trust, changed = role["name"], role["trust_policy"], False
    try:
        found = iam.get_role(RoleName=name)["Role"]
        if _as_json(found["AssumeRolePolicyDocument"]) != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            changed = True
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        found = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="Assumed by GitHub Actions through OIDC (gitops bootstrap)",
            MaxSessionDuration=3600,
        )["Role"]
        changed = True
    for policy_name, document in role["policies"].items():
        changed |= ensure_policy(iam, account_id, policy_name, document)
    wanted = role["managed_policy_arns"]
    attached = [
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    ]
    for arn in wanted:
        if arn not in attached:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            changed = True
    for arn in attached:
        if arn not in wanted:
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
            if arn.startswith(f"arn:aws:iam::{account_id}:policy/{name}-"):
                delete_policy(iam, arn)
            changed = True
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        changed = True
    return found["Arn"], changed


def ensure_roles(
    client: Callable[[str], Any], config: EnvironmentConfig, roles: dict[str, Any]
) -> dict[str, tuple[str, bool]]:
    """The provider, the boundary and both roles of `roles` (gitops.bootstrap.roles);
    name -> (arn, changed). The boundary comes first: the apply role names it."""
    iam = client("iam")
    provider_arn, provider_changed = ensure_provider(iam, config.account_id)
    boundary = roles["permissions_boundary"]
    boundary_changed = ensure_policy(iam, config.account_id, boundary["name"], boundary["policy"])
    return {
        "oidc_provider": (provider_arn, provider_changed),
        "permissions_boundary": (
            f"arn:aws:iam::{config.account_id}:policy/{boundary['name']}",
            boundary_changed,
        ),
        "plan_role": ensure_role(iam, config.account_id, roles["plan"]),
        "apply_role": ensure_role(iam, config.account_id, roles["apply"]),
    }
