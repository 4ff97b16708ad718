"""IAM enforcement in the emulator: every request authorized against its caller's policies.

Turned on by `GITOPS_EMULATOR_ENFORCE_IAM=1` in the emulator's environment (moto reads its
`INITIAL_NO_AUTH_ACTION_COUNT` from there too; here it is 0: nothing runs unauthenticated).
What moto 5.2.5 does, and what this layer changes so the pipeline roles can be proven:

- the emulator's fixed credentials (`gitops.emulator.server.EMULATOR_CREDENTIALS`) become an
  IAM user `emulator-admin` holding `*`: the administrator who bootstraps; every other
  caller is a role assumed with `AssumeRoleWithWebIdentity`, as GitHub's OIDC jobs are;
- `AssumeRoleWithWebIdentity` is unsigned in AWS (the token is the credential), so it is let
  through unsigned; moto does not verify the token nor the trust policy's conditions;
- moto names an action by the request's signing name and operation (`monitoring:PutDashboard`,
  `apigateway:CreateRestApi`, `s3:HeadObject`); IAM names it `cloudwatch:PutDashboard`,
  `apigateway:POST`, `s3:GetObject`. Actions are renamed to IAM's names before evaluation;
- moto passes the resource `*` for every request whose ARN it does not work out (all but S3
  buckets/objects and IAM roles), and then no ARN-scoped Allow could ever match. For those
  requests an Allow matches on its actions alone; a Deny needs its Resource to match, as before.
  Conditions are not evaluated (moto treats them as met): unit tests cover ARNs and conditions;
- a refusal of a JSON-protocol service (ECS, KMS, Logs, ...) is answered in JSON, as AWS does
  (moto answers XML, and the SDK then loses the message naming the action);
- signatures are not verified (moto computes some API Gateway GET signatures differently from
  the SDK and answers 403); the access key must still exist and its session token match.

With `GITOPS_EMULATOR_ACTION_LOG=FILE` every authorized or denied action is appended to FILE
(`allow|deny <caller> <action> <resource>`), which is how the permission table was checked.
"""

from __future__ import annotations

import os
import threading
from typing import Any

ENFORCE_VARIABLE = "GITOPS_EMULATOR_ENFORCE_IAM"
ACTION_LOG_VARIABLE = "GITOPS_EMULATOR_ACTION_LOG"
ADMIN_USER = "emulator-admin"
ACCOUNT_ID = "123456789012"
"""moto's default account, the `account_id` of environments/local.yaml."""

SIGNING_NAME_TO_PREFIX = {"monitoring": "cloudwatch"}
S3_OPERATION_TO_ACTION = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListBuckets": "ListAllMyBuckets",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "DeleteObjects": "DeleteObject",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketCors": "GetBucketCORS",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
}
"""S3 operations whose IAM action has another name (the rest are named alike)."""
S3_SUBRESOURCES = {
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls"),
    "replication": ("GetReplicationConfiguration", "PutReplicationConfiguration"),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration"),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment"),
}
"""Bucket sub-resources moto authorizes as the bucket's default action (`GET ?encryption` as
`ListBucket`, `PUT ?encryption` as `CreateBucket`): named here as IAM names them (a DELETE of
one is its Put action)."""

_log_lock = threading.Lock()


def iam_action(signing_name: str, operation: str, method: str, path: str = "") -> str:
    """The IAM action of one request, from what moto sees of it."""
    if signing_name == "apigateway":
        return f"apigateway:{method.upper()}"
    if signing_name == "s3":
        query = {part.split("=", 1)[0] for part in path.partition("?")[2].split("&") if part}
        for name, (read, write) in S3_SUBRESOURCES.items():
            if name in query and operation in ("ListBucket", "CreateBucket", "DeleteBucket"):
                return f"s3:{read if method.upper() == 'GET' else write}"
        return f"s3:{S3_OPERATION_TO_ACTION.get(operation, operation)}"
    return f"{SIGNING_NAME_TO_PREFIX.get(signing_name, signing_name)}:{operation}"


JSON_SERVICES = {"apigateway", "xray", "application-autoscaling", "ecs", "ecr", "logs", "kms",
                 "dynamodb", "secretsmanager", "wafv2", "acm"}  # fmt: skip
"""Services whose errors are JSON; moto answers them an XML AccessDenied the SDK cannot read, so
the denied action would be lost from the error."""


def _speaks_json(request: Any) -> bool:
    return request._service in JSON_SERVICES or "X-Amz-Target" in request._headers


def _record(decision: str, request: Any, resource: str) -> None:
    path = os.environ.get(ACTION_LOG_VARIABLE)
    if not path:
        return
    caller = request._access_key.arn.rsplit(":", 1)[-1]
    with _log_lock, open(path, "a") as log:
        log.write(f"{decision} {caller} {request._action} {resource}\n")


def _seed_admin() -> None:
    """The emulator's fixed credentials, as an IAM user allowed everything."""
    from moto.iam.models import iam_backends

    from gitops.emulator.server import EMULATOR_CREDENTIALS

    iam = iam_backends[ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    iam.put_user_policy(
        ADMIN_USER,
        "everything",
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    )
    key = iam.create_access_key(ADMIN_USER)
    key.access_key_id = EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    key.secret_access_key = EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]


def install() -> None:
    """Enforce IAM from the first request on (call before moto's server starts)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam import access_control
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    _seed_admin()

    original_init = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._action = iam_action(
            self._service,
            self._action.split(":", 1)[1],
            kwargs.get("method", ""),
            kwargs.get("path", ""),
        )

    setattr(IAMRequestBase, "__init__", init)  # noqa: B010 - patching moto at run time

    original_permitted = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        try:
            original_permitted(self, resource)
        except Exception:
            _record("deny", self, resource)
            if _speaks_json(self):
                from moto.core.exceptions import JsonRESTError

                message = (
                    f"User: {self._access_key.arn} is not authorized to perform: {self._action}"
                )
                raise JsonRESTError("AccessDeniedException", message) from None
            raise
        _record("allow", self, resource)

    setattr(IAMRequestBase, "check_action_permitted", check_action_permitted)  # noqa: B010
    setattr(IAMRequestBase, "check_signature", lambda self: None)  # noqa: B010

    original_statement = IAMPolicyStatement.is_action_permitted

    def statement_permitted(self: Any, action: str, resource: str = "*", *args: Any) -> Any:
        if resource == "*" and self._statement.get("Effect") == "Allow":
            self = IAMPolicyStatement({**self._statement, "Resource": "*"})
        return original_statement(self, action, resource, *args)

    setattr(IAMPolicyStatement, "is_action_permitted", statement_permitted)  # noqa: B010

    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        unsigned = "Authorization" not in self.headers
        if unsigned and self._get_action() == "AssumeRoleWithWebIdentity":
            return
        original_authorize(self, iam_request_cls, resource)

    setattr(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authorize)  # noqa: B010
    del access_control  # imported for its side effect of loading moto's IAM


ROLE_VARIABLE = "GITOPS_EMULATOR_ROLE"
"""Name of a role to act as in the emulator (`fraud-gitops-plan-local`): what GitHub's OIDC
step does in a workflow, done by `gitops` itself against an emulated environment."""


def role_credentials(endpoint: str, ca_bundle: str, role_name: str) -> dict[str, str]:
    """Temporary credentials of `role_name`, from the emulator's AssumeRoleWithWebIdentity."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from gitops.errors import GitopsError

    sts = boto3.client(  # unsigned, as in AWS: the web identity token is the credential
        "sts", region_name="us-east-1", endpoint_url=endpoint, verify=ca_bundle,
        config=Config(signature_version=UNSIGNED),
    )  # fmt: skip
    try:
        credentials = sts.assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}",
            RoleSessionName="gitops",
            WebIdentityToken="emulator-token-not-verified",  # pragma: allowlist secret
        )["Credentials"]
    except (BotoCoreError, ClientError) as error:
        raise GitopsError(f"{ROLE_VARIABLE}={role_name}: cannot assume it ({error})") from None
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
