"""A role an AWS service assumes, with one AWS-managed policy: the pattern API Gateway's
CloudWatch logging and RDS enhanced monitoring both need."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from infra.naming import Naming
from infra.policy_document import assume_role


def service_role(
    scope: Construct, key: str, naming: Naming, name_parts: tuple[str, ...], service: str,
    managed_policy_arn: str, *, account_id: str | None = None,
) -> IamRole:  # fmt: skip
    """Creates `<key>-role` and `<key>-policy` in `scope` (ids kept stable: renaming destroys).

    With `account_id`, the service may assume it only when acting for that account
    (`aws:SourceAccount`, as AWS documents for RDS enhanced monitoring). API Gateway's
    account-wide CloudWatch role goes without: AWS documents no such key for it.
    """
    role = IamRole(
        scope,
        f"{key}-role",
        name=naming.name(*name_parts),
        assume_role_policy=assume_role(service, account_id=account_id),
        tags=naming.tags(*name_parts),
    )
    IamRolePolicyAttachment(scope, f"{key}-policy", role=role.name, policy_arn=managed_policy_arn)
    return role
