"""Every IAM role of a stack gets the environment's permissions boundary, `fraud-boundary-<env>`.

An aspect rather than a prop on each construct: a role added later cannot forget it. The
boundary itself is created by `gitops bootstrap` (gitops.bootstrap.roles); the apply role may
create or change a role only when it carries this boundary, and checkov's CKV_FD_14 fails a
stack where one does not.
"""

from __future__ import annotations

import jsii
from cdktf import IAspect
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import IConstruct

from infra.naming import Naming


def boundary_arn(naming: Naming, account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:policy/{naming.name('boundary')}"


@jsii.implements(IAspect)
class PermissionsBoundary:
    def __init__(self, arn: str) -> None:
        self.arn = arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, IamRole):
            node.permissions_boundary = self.arn
