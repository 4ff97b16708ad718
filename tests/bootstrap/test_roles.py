"""The pipeline roles' documents (`gitops roles`), read as a reviewer would: what each role may
do, on which ARNs, under which conditions. The emulator enforces actions only, so ARNs and
conditions are proven here, on the documents bootstrap writes."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from gitops.bootstrap import boundary, permission_table, roles
from gitops.bootstrap.roles import UnknownResourceType, roles_document

from infra.environments import environment_names, load_environment
from tests.helpers import gitops_in_process

REPOSITORY = "acme/fraud-detection"
DEPLOY_ACTIONS = Path(__file__).with_name("deploy_actions.txt")
"""Every action the pipeline roles were granted while the real provider planned, deployed,
re-planned and destroyed `local` in the emulator with IAM enforced (its action log, by role)."""
WILDCARD_ACTIONS = {
    "acm:ListCertificates", "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies", "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute", "ec2:DescribeAvailabilityZones", "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "ecs:DescribeTaskDefinition", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups", "kms:ListAliases", "logs:DescribeLogGroups",
    "xray:GetSamplingRules", "ec2:DescribePrefixLists", "ec2:DescribeVpcEndpoints",
    "ecr:DescribePullThroughCacheRules",
    # writes
    "ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition", "elasticloadbalancing:SetWebAcl",
    "kms:CreateKey", "logs:CreateLogDelivery", "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies", "logs:PutResourcePolicy",
    # pull-through cache rules belong to the registry, which has no ARN of its own
    "ecr:CreatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule",
    # prod's alarm e-mail subscription: SNS authorizes subscription calls on the topic, but
    # AWS's reference lists no resource type for them
    "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe",
}  # fmt: skip
"""The only actions on `Resource: "*"`: AWS has no resource-level form for them (policy_sentry).
A change here is a change a reviewer should see."""
BOUNDARY_KEYED = {
    "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
}  # fmt: skip
"""AWS evaluates `iam:PermissionsBoundary` on these role writes (its reference, as policy_sentry
records it); every one the apply role holds must carry the condition."""
REVIEWED_PARLIAMENT_FINDINGS = {
    "RESOURCE_STAR": "ecs:RegisterTaskDefinition: parliament's database gives it a resource "
    "form that policy_sentry's (and AWS's reference when they were built) does not",
    "RESOURCE_MISMATCH": "an action that also accepts a resource type the stack never uses "
    "(network-load-balancer listeners, RDS option groups): the formats it does use are granted",
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": "the stack owns its log buckets' policies; the apply "
    "role may write them, and a reviewed plan shows any change; the state bucket is denied",
    "UNKNOWN_CONDITION_FOR_ACTION": "kms:ResourceAliases on kms:Decrypt/GenerateDataKey is newer "
    "than parliament's database",
}


@pytest.fixture(scope="module")
def documents(stacks: dict[str, dict]) -> dict[str, dict[str, Any]]:
    return {
        name: roles_document(load_environment(name), REPOSITORY, stacks[name], name)
        for name in environment_names()
    }


def _statements(role: dict[str, Any], effect: str = "Allow") -> list[dict[str, Any]]:
    return [
        statement
        for document in role["policies"].values()
        for statement in document["Statement"]
        if statement["Effect"] == effect
    ]


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"]
    return [resources] if isinstance(resources, str) else resources


def allows(role: dict[str, Any], action: str, resource: str | None = None) -> bool:
    """An Allow statement grants `action` (on `resource`, when given). Conditions are not read."""
    for statement in _statements(role):
        if action in statement["Action"] and (
            resource is None or any(fnmatch.fnmatchcase(resource, r) for r in _resources(statement))
        ):
            return True
    return False


def deploy_actions() -> set[str]:
    return set(DEPLOY_ACTIONS.read_text().split())


def test_no_aws_managed_policy_and_every_policy_fits_iam(documents) -> None:
    for env, document in documents.items():
        account = load_environment(env).account_id
        for role in (document["plan"], document["apply"]):
            assert role["managed_policy_arns"] == [
                f"arn:aws:iam::{account}:policy/{name}" for name in role["policies"]
            ]
            assert len(role["policies"]) <= 10, "IAM attaches at most 10 policies to a role"
            for name, policy in role["policies"].items():
                assert name.startswith(role["name"] + "-")
                assert len(json.dumps(policy, separators=(",", ":"))) <= 6144, name


def test_no_wildcard_action_anywhere(documents) -> None:
    for document in documents.values():
        for role in (document["plan"], document["apply"]):
            for statement in _statements(role) + _statements(role, "Deny"):
                for action in statement["Action"]:
                    assert "*" not in action, f"{role['name']} {statement['Sid']}: {action}"


def test_resource_star_only_where_aws_has_no_resource_level_form(documents) -> None:
    starred = {
        action
        for document in documents.values()
        for role in (document["plan"], document["apply"])
        for statement in _statements(role)
        if statement["Resource"] == "*"
        for action in statement["Action"]
    }
    assert starred == WILDCARD_ACTIONS
    assert roles.wildcard_only(starred) == starred


def test_every_scoped_resource_is_this_account_and_region(documents) -> None:
    for env, document in documents.items():
        config = load_environment(env)
        for statement in _statements(document["apply"]):
            for arn in _resources(statement):
                if arn == "*":
                    continue
                partition, service, region, account = arn.split(":")[1:5]
                assert partition == "aws" and region in ("", config.region), arn
                assert account in ("", config.account_id), arn
                if service == "s3":
                    assert arn.startswith(f"arn:aws:s3:::{config.state.bucket}") or (
                        arn == f"arn:aws:s3:::fraud-*-logs-*-{config.account_id}"
                    ), arn


def test_plan_role_only_reads(documents) -> None:
    """Previews plan with `-lock=false`: the plan role writes nothing, not even the lock."""
    from policy_sentry.querying.actions import get_action_data

    for env, document in documents.items():
        config = load_environment(env)
        plan = document["plan"]
        table = f"arn:aws:dynamodb:{config.state.region}:{config.account_id}:table/"
        on_table = [s for s in _statements(plan) if any(r.startswith(table) for r in _resources(s))]
        actions = sorted(a for s in on_table for a in s["Action"])
        assert actions == ["dynamodb:DescribeTable", "dynamodb:GetItem"], env
        for write in ("PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem"):
            assert not allows(plan, f"dynamodb:{write}"), f"plan role: dynamodb:{write}"
        for statement in _statements(plan):
            if statement["Sid"].startswith("Decrypt"):  # through S3 / Secrets Manager only
                assert "kms:ViaService" in statement["Condition"]["StringEquals"]
                continue
            for action in statement["Action"]:
                service, name = action.split(":")
                (level,) = {e["access_level"] for e in get_action_data(service, name)[service]}
                assert level in ("Read", "List"), f"plan role: {action} is {level}"
        # No secret value of any kind, and keys only to read the state through S3.
        assert not allows(plan, "secretsmanager:GetSecretValue"), env
        decrypting = [s for s in _statements(plan) if "kms:Decrypt" in s["Action"]]
        assert [s["Condition"]["StringEquals"]["kms:ViaService"] for s in decrypting] == [
            f"s3.{config.state.region}.amazonaws.com"
        ], env
        state = f"arn:aws:s3:::{config.state.bucket}/{config.state.key}"
        object_reads = [s for s in _statements(plan) if "s3:GetObject" in s["Action"]]
        assert [_resources(s) for s in object_reads] == [[state]]
        other = f"arn:aws:s3:::{config.state.bucket}/fraud-detection/prod.tfstate"
        assert env == "prod" or not allows(plan, "s3:GetObject", other)


def test_no_row_lets_planning_read_a_secret_value() -> None:
    """Reading a secret at plan time (a data source, an ephemeral resource, the refresh of an
    `aws_secretsmanager_secret_version`) would hand every pull request's plan job a value: no
    row grants it, so a stack type that needs it fails `gitops roles` for want of a row."""
    readers = [t for t, row in permission_table.TABLE.items()
               if "secretsmanager:GetSecretValue" in row.read]  # fmt: skip
    assert readers == []
    assert "aws_secretsmanager_secret_version" not in permission_table.TABLE


def test_terraform_data_has_a_row_that_grants_nothing(stacks, monkeypatch) -> None:
    config, stack = load_environment("dev"), stacks["dev"]
    assert "terraform_data" in roles.resource_types(stack)
    without = copy.deepcopy(stack)
    del without["resource"]["terraform_data"]
    assert roles_document(config, REPOSITORY, stack, "dev") == roles_document(
        config, REPOSITORY, without, "dev"
    )
    table = {t: row for t, row in permission_table.TABLE.items() if t != "terraform_data"}
    monkeypatch.setattr(roles, "TABLE", table)
    with pytest.raises(UnknownResourceType, match="no permission-table row for terraform_data;"):
        roles_document(config, REPOSITORY, stack, "dev")


def test_iam_writes_need_the_boundary_and_name_only_the_stacks_roles(documents, stacks) -> None:
    """Not `role/fraud-*`: dev's jobs could re-trust prod's roles (UpdateAssumeRolePolicy is
    not keyed to the boundary) or any other role with the prefix."""
    for env, document in documents.items():
        config = load_environment(env)
        boundary = f"arn:aws:iam::{config.account_id}:policy/fraud-boundary-{env}"
        own = sorted(f"arn:aws:iam::{config.account_id}:role/{name}"
                     for name in roles.stack_roles(stacks[env]))  # fmt: skip
        assert own and all(arn.endswith(f"-{env}") for arn in own), own
        for statement in _statements(document["apply"]):
            iam_writes = [
                a for a in statement["Action"]
                if a.startswith("iam:") and not a.startswith(("iam:Get", "iam:List"))
            ]  # fmt: skip
            if not iam_writes or iam_writes == ["iam:PassRole"] or statement["Effect"] == "Deny":
                continue
            removal = set(iam_writes) <= permission_table.ROLE_REMOVALS
            if removal and statement["Sid"].startswith("Remove"):
                # a role the code removes or renames is no longer named: tagged with this
                # environment is the condition (tagging needs the exact names above)
                assert _resources(statement) == [f"arn:aws:iam::{config.account_id}:role/fraud-*"]
                tag = statement["Condition"]["StringEquals"]["aws:ResourceTag/Environment"]
                assert tag == env, statement["Sid"]
                continue
            assert _resources(statement) == own, statement["Sid"]
            bounded = set(iam_writes) & BOUNDARY_KEYED
            if bounded:
                assert set(iam_writes) == bounded, statement["Sid"]
                condition = statement["Condition"]["ArnEquals"]
                assert condition["iam:PermissionsBoundary"] == boundary
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
            assert action in BOUNDARY_KEYED and allows(document["apply"], action)


def test_a_renamed_role_can_be_created_and_its_old_name_removed_in_one_deploy(stacks) -> None:
    """The bootstrap before the deploy names the new role only; the old one must still go."""
    config = load_environment("dev")
    renamed = copy.deepcopy(stacks["dev"])
    key = sorted(renamed["resource"]["aws_iam_role"])[0]
    old = renamed["resource"]["aws_iam_role"][key]["name"]
    renamed["resource"]["aws_iam_role"][key]["name"] = f"{old}-v2"
    apply = roles_document(config, REPOSITORY, renamed, "dev")["apply"]
    arn = f"arn:aws:iam::{config.account_id}:role/{{}}"
    assert allows(apply, "iam:CreateRole", arn.format(f"{old}-v2"))
    assert not allows(apply, "iam:CreateRole", arn.format(old))
    for action in ("iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"):
        assert allows(apply, action, arn.format(old)), action
    assert not allows(apply, "iam:UpdateAssumeRolePolicy", arn.format(old))


def test_pass_role_only_the_stacks_roles_to_their_services(documents, stacks) -> None:
    for env, document in documents.items():
        account = load_environment(env).account_id
        passing = [s for s in _statements(document["apply"]) if "iam:PassRole" in s["Action"]]
        expected = roles.stack_roles(stacks[env])
        assert expected[f"fraud-api-task-{env}"] == "ecs-tasks.amazonaws.com"
        found = {}
        for statement in passing:
            assert statement["Action"] == ["iam:PassRole"]
            (arn,) = _resources(statement)
            found[arn.removeprefix(f"arn:aws:iam::{account}:role/")] = statement["Condition"][
                "StringEquals"
            ]["iam:PassedToService"]
        assert found == expected


def test_guardrails_deny_the_state_backend_boundary_and_pipeline_roles(documents) -> None:
    for env, document in documents.items():
        config = load_environment(env)
        denies = _statements(document["apply"], "Deny")

        def denied(action: str, arn: str, denies: list = denies) -> bool:
            return any(
                action in s["Action"] and any(fnmatch.fnmatchcase(arn, r) for r in _resources(s))
                for s in denies
            )

        account = config.account_id
        assert denied("s3:DeleteBucket", f"arn:aws:s3:::{config.state.bucket}")
        table = f"arn:aws:dynamodb:{config.state.region}:{account}:table/{config.state.lock_table}"
        assert denied("dynamodb:DeleteTable", table)
        boundary = f"arn:aws:iam::{account}:policy/fraud-boundary-{env}"
        assert denied("iam:CreatePolicyVersion", boundary)
        assert denied("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{account}:role/fraud-x")
        for role in ("plan", "apply"):
            arn = f"arn:aws:iam::{account}:role/fraud-gitops-{role}-{env}"
            for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole",
                           "iam:UpdateAssumeRolePolicy"):  # fmt: skip
                assert denied(action, arn), (action, arn)


def test_the_apply_role_can_neither_delete_nor_redirect_the_state_key(documents) -> None:
    """It may schedule the deletion of the stack's own keys, so the state key is carved out by
    its alias (a condition AWS evaluates; moto does not, hence this test on the document)."""
    for env, document in documents.items():
        config = load_environment(env)
        prefix = f"arn:aws:kms:{config.state.region}:{config.account_id}"
        guarded = [s for s in _statements(document["apply"], "Deny") if "Condition" in s]
        (key_guard,) = [s for s in guarded if "kms:ScheduleKeyDeletion" in s["Action"]]
        assert _resources(key_guard) == [f"{prefix}:key/*"]
        assert key_guard["Condition"] == {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/fraud-detection-tfstate"]}
        }
        assert {"kms:PutKeyPolicy", "kms:DisableKey", "kms:CreateGrant"} <= set(key_guard["Action"])
        (alias_guard,) = [
            s for s in _statements(document["apply"], "Deny") if "kms:UpdateAlias" in s["Action"]
        ]
        assert _resources(alias_guard) == [f"{prefix}:alias/fraud-detection-tfstate"]
        assert "Condition" not in alias_guard


def test_the_apply_role_creates_kms_grants_only_for_aws_services(documents) -> None:
    """RDS and Secrets Manager create grants on the stack's keys for the role; a grant asked
    for directly (to itself, to another account) is refused by the condition."""
    for document in documents.values():
        granting = [s for s in _statements(document["apply"]) if "kms:CreateGrant" in s["Action"]]
        assert granting and all(s["Action"] == ["kms:CreateGrant"] for s in granting)
        for statement in granting:
            assert statement["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_only_the_state_key_may_be_listed_in_the_state_bucket(documents) -> None:
    """The log buckets' rows must not reach the state bucket: its listing is the roles' own key."""
    for env, document in documents.items():
        config = load_environment(env)
        bucket = f"arn:aws:s3:::{config.state.bucket}"
        log_bucket = f"arn:aws:s3:::fraud-alb-logs-{env}-{config.account_id}"
        for role in ("plan", "apply"):
            (listing,) = [
                s for s in _statements(document[role])
                if "s3:ListBucket" in s["Action"]
                and any(fnmatch.fnmatchcase(bucket, r) for r in _resources(s))
            ]  # fmt: skip
            prefixes = ["env:/", config.state.key]
            assert listing["Condition"] == {"StringEquals": {"s3:prefix": prefixes}}, (env, role)
            assert allows(document[role], "s3:ListBucket", log_bucket), (env, role)


def test_the_boundary_reads_only_the_database_secret(documents) -> None:
    for env, document in documents.items():
        config = load_environment(env)
        statements = document["permissions_boundary"]["policy"]["Statement"]
        reading = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
        (secret,) = reading
        assert _resources(secret) == [
            f"arn:aws:secretsmanager:{config.region}:{config.account_id}:secret:rds!cluster-*"
        ]
        (decrypt,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
        assert decrypt["Condition"] == {
            "StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.amazonaws.com"}
        }


def test_the_boundary_leaves_on_any_resource_only_what_aws_cannot_scope(documents) -> None:
    for document in documents.values():
        statements = document["permissions_boundary"]["policy"]["Statement"]
        starred = {
            action
            for s in statements
            if s["Effect"] == "Allow" and s["Resource"] == "*"
            for action in s["Action"]
        }
        assert roles.wildcard_only(starred) == starred, starred - roles.wildcard_only(starred)


def _stack_arns(stack: dict[str, Any], region: str, account: str) -> dict[str, list[str]]:
    """action -> ARNs of this stack's resources a stack role acts on with it."""
    res = stack["resource"]
    (lb,) = res["aws_lb"].values()
    (cluster,) = res["aws_ecs_cluster"].values()
    (service,) = res["aws_ecs_service"].values()
    (cache,) = res["aws_ecr_pull_through_cache_rule"].values()
    repositories = [
        re.sub(r"\$\{aws_ecr_pull_through_cache_rule\.[^}]+\}", cache["ecr_repository_prefix"],
               repository["name"])
        for repository in res["aws_ecr_repository"].values()
    ]  # fmt: skip
    task_set = f"task-set/{cluster['name']}/{service['name']}/ecs-svc/1234567890"
    alarms = [a["alarm_name"] for a in res["aws_cloudwatch_metric_alarm"].values()]
    passed = [
        role["name"]
        for role in res["aws_iam_role"].values()
        if "ecs-tasks.amazonaws.com" in role["assume_role_policy"]
    ]
    written = json.dumps([res["aws_iam_role_policy"], res["aws_api_gateway_stage"]])
    log_groups = [
        group["name"]
        for key, group in res["aws_cloudwatch_log_group"].items()
        if f"${{aws_cloudwatch_log_group.{key}.arn}}" in written
    ]
    listener = f"listener/app/{lb['name']}/0a/1b"
    service_arn = f"service/{cluster['name']}/{service['name']}"
    return {
        "elasticloadbalancing:ModifyListener": [
            f"arn:aws:elasticloadbalancing:{region}:{account}:{listener}"
        ],
        "ecr:BatchGetImage": [
            f"arn:aws:ecr:{region}:{account}:repository/{name}" for name in repositories
        ],
        "ecs:CreateTaskSet": [f"arn:aws:ecs:{region}:{account}:{task_set}"],
        "ecs:UpdateServicePrimaryTaskSet": [f"arn:aws:ecs:{region}:{account}:{service_arn}"],
        "cloudwatch:DescribeAlarms": [
            f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}" for name in alarms
        ],
        "iam:PassRole": [f"arn:aws:iam::{account}:role/{name}" for name in passed],
        "logs:PutLogEvents": [
            f"arn:aws:logs:{region}:{account}:log-group:{name}:log-stream:1a2b"
            for name in log_groups
        ],
        "logs:CreateLogGroup": [
            f"arn:aws:logs:{region}:{account}:log-group:{name}" for name in log_groups
        ],
    }


def test_the_boundary_names_this_environments_resources_and_no_others(documents, stacks) -> None:
    """Every ARN a stack role acts on is inside its environment's boundary, and the same
    resources of every other environment (in the same account and region) are outside it."""

    def allowed(env: str, action: str, arn: str) -> bool:
        statements = documents[env]["permissions_boundary"]["policy"]["Statement"]
        return any(
            fnmatch.fnmatchcase(arn, pattern)
            for s in statements
            if s["Effect"] == "Allow" and action in s["Action"]
            for pattern in _resources(s)
        )

    region, account = "us-east-1", "123456789012"
    arns = {env: _stack_arns(stack, region, account) for env, stack in stacks.items()}
    for env in stacks:
        config = load_environment(env)
        own = _stack_arns(stacks[env], config.region, config.account_id)
        for action, targets in own.items():
            assert targets, (env, action)
            for arn in targets:
                assert allowed(env, action, arn), (env, action, arn)
        # the other environments' resources, as if they shared this one's account and region
        relocated = config.model_copy(update={"region": region, "account_id": account})
        documents_here = boundary.boundary_policy(relocated)
        for other, by_action in arns.items():
            if other == env:
                continue
            for action, targets in by_action.items():
                for arn in targets:
                    assert not any(
                        fnmatch.fnmatchcase(arn, pattern)
                        for s in documents_here["Statement"]
                        if s["Effect"] == "Allow" and action in s["Action"]
                        for pattern in _resources(s)
                    ), (env, other, action, arn)


def test_the_boundary_writes_only_the_log_groups_aws_names_for_the_stacks_services(
    documents,
) -> None:
    """API Gateway's logging role and RDS enhanced monitoring (AWS managed policies) write
    groups AWS names; nothing else of the account's audit trail is writable: not the WAF's
    groups, not CloudTrail's, not another team's or another stage's; and only the monitoring
    group's retention may be set by a role (PCI DSS 10.3, 10.5.1)."""
    config = load_environment("dev")
    statements = documents["dev"]["permissions_boundary"]["policy"]["Statement"]

    def allowed(action: str, group: str, stream: bool = True) -> bool:
        arn = f"arn:aws:logs:{config.region}:{config.account_id}:log-group:{group}"
        arn += ":log-stream:s" if stream else ""
        return any(
            fnmatch.fnmatchcase(arn, pattern)
            for s in statements
            if s["Effect"] == "Allow" and action in s["Action"]
            for pattern in _resources(s)
        )

    own = ["/ecs/fraud-api-dev", "/aws/apigateway/fraud-api-dev"]
    execution_logs = "API-Gateway-Execution-Logs_{}/{}".format
    for group in (
        execution_logs("abc123", "live"),
        "/aws/apigateway/welcome",
        "RDSOSMetrics",
        *own,
    ):
        assert allowed("logs:PutLogEvents", group), group
    for group in (
        "aws-waf-logs-fraud-alb-dev",
        "aws-waf-logs-fraud-api-dev",
        "/aws/cloudtrail/organization",
        "/ecs/payments-api",
        "/ecs/fraud-api-dev-old",
        "RDSOSMetricsX",
        "/aws/apigateway/welcome-x",
        execution_logs("abc123", "test"),
    ):
        assert not allowed("logs:PutLogEvents", group), group
    assert allowed("logs:PutRetentionPolicy", "RDSOSMetrics", stream=False)
    for group in own:
        assert not allowed("logs:PutRetentionPolicy", group, stream=False), group


def test_linters_find_no_escalation_exposure_or_exfiltration(documents) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
        from cloudsplaining.scan.policy_document import PolicyDocument
        from parliament import analyze_policy_string

    for document in documents.values():
        policies = {
            **document["plan"]["policies"],
            **document["apply"]["policies"],
            "boundary": document["permissions_boundary"]["policy"],
        }
        for name, policy in policies.items():
            scanned = PolicyDocument(policy)
            assert scanned.allows_privilege_escalation == [], name
            assert scanned.permissions_management_without_constraints == [], name
            assert scanned.allows_data_exfiltration_actions == [], name
            findings = analyze_policy_string(json.dumps(policy)).findings
            unreviewed = [f"{f.issue}: {f.detail}" for f in findings]
            unreviewed = [
                f for f in unreviewed if f.split(":")[0] not in REVIEWED_PARLIAMENT_FINDINGS
            ]
            assert unreviewed == [], name


def test_a_type_without_a_row_fails_naming_it(stacks) -> None:
    stack = copy.deepcopy(stacks["dev"])
    stack["resource"]["aws_lambda_function"] = {"f": {"function_name": "fraud-f-dev"}}
    with pytest.raises(
        UnknownResourceType, match=r"dev.json: no permission-table row for aws_lambda_function;"
    ):
        roles_document(load_environment("dev"), REPOSITORY, stack, "dev.json")


def test_every_action_a_deploy_used_is_granted(documents) -> None:
    apply, plan = documents["local"]["apply"], documents["local"]["plan"]
    used = deploy_actions() - {"sts:GetCallerIdentity"}  # AWS never denies it
    assert len(used) > 100
    assert [a for a in sorted(used) if not allows(apply, a)] == []
    reads = {a for a in used if a.split(":")[1].startswith(("Describe", "Get", "List"))}
    state_writes = {"s3:PutObject", "dynamodb:PutItem", "dynamodb:DeleteItem", "s3:GetObject"}
    assert [a for a in sorted(reads - state_writes) if not allows(plan, a)] == []


def test_removing_any_one_action_from_the_table_removes_it_from_the_role(stacks, monkeypatch):
    """No other grant covers an action: take it out of the table and the deploy loses it."""
    config, stack = load_environment("local"), stacks["local"]
    table = dict(permission_table.TABLE)
    granted = {a for row in table.values() for a in (*row.read, *row.write)}
    used = deploy_actions() & granted
    for action in sorted(used):
        without = {
            t: dataclasses.replace(
                row,
                read=tuple(a for a in row.read if a != action),
                write=tuple(a for a in row.write if a != action),
            )
            for t, row in table.items()
        }
        monkeypatch.setattr(roles, "TABLE", without)
        apply = roles_document(config, REPOSITORY, stack, "local")["apply"]
        stack_policies = {n: d for n, d in apply["policies"].items() if "stack-resources" in n}
        assert not allows({"policies": stack_policies}, action), action


def test_the_boundary_covers_what_the_stacks_roles_are_granted(stacks) -> None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    managed = json.loads(aws_managed_policies_data)
    for stack in stacks.values():
        granted = set()
        for policy in stack["resource"]["aws_iam_role_policy"].values():
            for statement in json.loads(policy["policy"])["Statement"]:
                granted.update(statement["Action"])
        for arn in roles.attached_policies(stack):
            document = managed[arn.rsplit("/", 1)[1]]["Document"]
            for statement in document["Statement"]:
                actions = statement["Action"]
                granted.update([actions] if isinstance(actions, str) else actions)
        # iam:PassRole is in the boundary only to ECS tasks, on fraud- roles (its own statement)
        bounded = {*boundary.BOUNDARY_ACTIONS, *boundary.SECRET_ACTIONS}
        assert granted - bounded <= {"iam:PassRole"}


def test_every_role_in_every_stack_has_the_boundary(stacks) -> None:
    for env, stack in stacks.items():
        account = load_environment(env).account_id
        for key, role in stack["resource"]["aws_iam_role"].items():
            expected = f"arn:aws:iam::{account}:policy/fraud-boundary-{env}"
            assert role.get("permissions_boundary") == expected, key


def _gitops(*args: str) -> subprocess.CompletedProcess[str]:
    return gitops_in_process(args)


def test_gitops_roles_prints_the_document(synth_outdir, documents) -> None:
    result = _gitops(
        "roles", "dev", "--github-repository", REPOSITORY, "--no-synth",
        "--outdir", str(synth_outdir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == documents["dev"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["roles", "dev", "--github-repository", "no-slash"],
         "gitops roles: error: --github-repository 'no-slash': expected OWNER/NAME"),
        (["roles", "qa", "--github-repository", REPOSITORY], "gitops roles: error: "),
        (["roles", "dev", "--github-repository", REPOSITORY, "--no-synth", "--outdir", "/nope"],
         "gitops roles: error: /nope/stacks/fraud-detection-dev/cdk.tf.json: no synthesized stack"),
        (["roles", "dev"], "the following arguments are required: --github-repository"),
        (["roles", "dev", "--github-repository", "../.."],
         "gitops roles: error: --github-repository '../..': expected OWNER/NAME"),
        (["roles", "dev", "--github-repository", "acme/fraud\n"],
         "gitops roles: error: --github-repository 'acme/fraud\\n': expected OWNER/NAME"),
        (["roles", "dev", "--github-repository", REPOSITORY, "--no-synth", "--outdir", "{list}"],
         "cdk.tf.json: not a synthesized stack (no object of resources)"),
    ],
)  # fmt: skip
def test_gitops_roles_bad_input_is_one_line(args, message, tmp_path: Path) -> None:
    stack_dir = tmp_path / "stacks" / "fraud-detection-dev"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("[]")
    args = [str(tmp_path) if arg == "{list}" else arg for arg in args]
    result = _gitops(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message) or message in line, line
