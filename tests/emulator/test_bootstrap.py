"""`gitops bootstrap` against the emulator: the state backend and GitHub's OIDC roles,
created once and unchanged the second time."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from gitops.bootstrap.github_oidc import check_repository
from gitops.bootstrap.roles import roles_document
from gitops.bootstrap.state_backend import (
    STATE_KEY_TAG,
    BootstrapReport,
    bootstrap,
    ensure_state_key,
)
from gitops.emulator import server as emulator
from gitops.errors import UsageError

from infra.environments import load_environment

pytestmark = pytest.mark.emulator

GITOPS = str(Path(sys.executable).with_name("gitops"))
REPOSITORY = "fraud-platform/infrastructure"
OLD_INLINE = json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}
)  # fmt: skip


@pytest.fixture
def local_config(aws):
    aws("sts")  # the emulator is up
    return emulator.attach(load_environment("local"))


def test_state_backend_is_secure_and_idempotent(local_config, aws) -> None:
    first = bootstrap(local_config)
    second = bootstrap(local_config)
    assert second.created == [], "a second bootstrap changes nothing"
    assert len(second.unchanged) == len(first.created) + len(first.unchanged)
    s3, bucket = aws("s3"), local_config.state.bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    table = aws("dynamodb").describe_table(TableName=local_config.state.lock_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    backups = aws("dynamodb").describe_continuous_backups(TableName=local_config.state.lock_table)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


@pytest.fixture
def roles(stacks, local_config):
    return roles_document(local_config, REPOSITORY, stacks["local"], "local")


def test_github_roles_trust_only_this_repository(local_config, aws, roles) -> None:
    report = bootstrap(local_config, roles)
    iam = aws("iam")
    plan = iam.get_role(RoleName="fraud-gitops-plan-local")["Role"]
    apply = iam.get_role(RoleName="fraud-gitops-apply-local")["Role"]
    assert report.role_arns == {"plan_role": plan["Arn"], "apply_role": apply["Arn"]}

    def condition(role):
        document = role["AssumeRolePolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        (statement,) = document["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(
            ":oidc-provider/token.actions.githubusercontent.com"
        )
        return statement["Condition"]["StringEquals"]

    assert condition(plan)["token.actions.githubusercontent.com:sub"] == [
        f"repo:{REPOSITORY}:environment:local-plan",  # never every pull request
        f"repo:{REPOSITORY}:ref:refs/heads/main",
    ]
    assert condition(apply)["token.actions.githubusercontent.com:sub"] == [
        f"repo:{REPOSITORY}:environment:local"
    ]
    assert condition(apply)["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    again = bootstrap(local_config, roles)
    assert not [item for item in again.created if item.startswith("iam")]


def _attached(iam, role: str) -> list[str]:
    return sorted(
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    )


def test_bootstrap_creates_exactly_the_roles_document(local_config, aws, roles) -> None:
    bootstrap(local_config, roles)
    iam = aws("iam")
    for key in ("plan", "apply"):
        role = roles[key]
        assert _attached(iam, role["name"]) == sorted(role["managed_policy_arns"])
        assert iam.list_role_policies(RoleName=role["name"])["PolicyNames"] == []
        for arn, (name, document) in zip(
            role["managed_policy_arns"], role["policies"].items(), strict=True
        ):
            assert arn.endswith(f"/{name}")
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            stored = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
            assert _json(stored["Document"]) == document
    boundary = f"arn:aws:iam::{local_config.account_id}:policy/fraud-boundary-local"
    version = iam.get_policy(PolicyArn=boundary)["Policy"]["DefaultVersionId"]
    stored = iam.get_policy_version(PolicyArn=boundary, VersionId=version)["PolicyVersion"]
    assert _json(stored["Document"]) == roles["permissions_boundary"]["policy"]


def _json(document):
    from urllib.parse import unquote

    return json.loads(unquote(document)) if isinstance(document, str) else document


def test_an_older_install_moves_off_the_managed_policies(local_config, aws, roles) -> None:
    """An install from before least privilege: AWS managed policies and an inline policy."""
    bootstrap(local_config, roles)
    iam = aws("iam")
    for name, managed in (("fraud-gitops-plan-local", "ReadOnlyAccess"),
                          ("fraud-gitops-apply-local", "AdministratorAccess")):  # fmt: skip
        iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/{managed}")
        iam.put_role_policy(RoleName=name, PolicyName="terraform-state", PolicyDocument=OLD_INLINE)
    changed = copy.deepcopy(roles)
    changed["plan"]["policies"]["fraud-gitops-plan-local-read-state"]["Statement"][0]["Sid"] = "X"
    bootstrap(local_config, changed)
    report = bootstrap(local_config, roles)
    assert "iam plan_role" in " ".join(report.created), "the changed policy was put back"
    for key in ("plan", "apply"):
        name = roles[key]["name"]
        assert _attached(iam, name) == sorted(roles[key]["managed_policy_arns"])
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    assert not [i for i in bootstrap(local_config, roles).created if i.startswith("iam")]


def test_cli_writes_the_role_arns(local_config, work_dir) -> None:
    result = subprocess.run(
        [GITOPS, "bootstrap", "local", "--github-repository", REPOSITORY],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    roles = json.loads((work_dir / "roles" / "local.json").read_text())
    assert set(roles) == {"plan_role", "apply_role"}
    # What bootstrap creates is what the workflows derive from the file: no variable to set.
    assert roles["apply_role"] == local_config.apply_role_arn
    assert roles["plan_role"] == local_config.plan_role_arn
    assert f"apply_role: {roles['apply_role']} (the workflows derive it" in result.stdout


def test_a_bad_repository_is_one_line() -> None:
    with pytest.raises(UsageError, match=r"--github-repository 'not a repo': expected OWNER/NAME"):
        check_repository("not a repo")


def test_a_key_whose_alias_failed_is_reused_not_duplicated(aws) -> None:
    """The real fault: CreateAlias fails once (raised inside botocore, before the request goes
    out), after CreateKey succeeded. The re-run must finish with the one key."""
    kms = aws("kms")
    alias = f"alias/faults-{uuid.uuid4().hex[:8]}"

    def alias_fails(**_: object) -> None:
        kms.meta.events.unregister("before-call.kms.CreateAlias", alias_fails)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                          "CreateAlias")  # fmt: skip

    keys_before = len(kms.list_keys()["Keys"])
    kms.meta.events.register("before-call.kms.CreateAlias", alias_fails)
    with pytest.raises(ClientError, match="ThrottlingException"):
        ensure_state_key(kms, BootstrapReport(), alias)
    arn = ensure_state_key(kms, BootstrapReport(), alias)
    tagged = [key["KeyId"] for key in kms.list_keys()["Keys"]
              if {"TagKey": STATE_KEY_TAG, "TagValue": alias}
              in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]]  # fmt: skip
    assert len(kms.list_keys()["Keys"]) == keys_before + 1, "the re-run created a second key"
    assert len(tagged) == 1
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == arn
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
