"""The pipeline roles proven in an emulator that enforces IAM (gitops.emulator.iam_enforcement).

Bootstrap as the administrator, then every `gitops` command as the role a workflow job would
have: the plan role plans and is refused at its first write; an apply role missing one action
the deploy needs fails naming it; bootstrap restores the policy; the apply role deploys the whole
stack, re-plans to nothing (as the plan role) and destroys it. moto enforces actions only: the
ARNs and conditions of the same documents are proven in tests/bootstrap/test_roles.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from gitops.emulator import server as emulator
from gitops.emulator.iam_enforcement import ENFORCE_VARIABLE, ROLE_VARIABLE, role_credentials
from gitops.emulator.local import remote_state

from infra.environments import load_environment

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))
REPOSITORY = "acme/fraud-detection"
PLAN_ROLE, APPLY_ROLE = "fraud-gitops-plan-local", "fraud-gitops-apply-local"
REMOVED = "ecs:CreateCluster"
"""The representative action taken from the apply role: the first wave of a deploy needs it."""


def gitops(*args: str, outdir: Path, role: str | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != ROLE_VARIABLE}
    if role:
        environment[ROLE_VARIABLE] = role
    return subprocess.run(
        [GITOPS, *args, "--outdir", str(outdir)],
        env=environment, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip


def as_role(role: str, service: str):
    state = emulator.require_running()
    credentials = role_credentials(state.endpoint, str(emulator.ca_bundle()), role)
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=state.endpoint,
        verify=str(emulator.ca_bundle()),
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roles-out")


@pytest.fixture(scope="module")
def bootstrapped(work_dir, outdir):
    """A fresh emulator with IAM enforced, bootstrapped by the administrator."""
    emulator.stop()
    os.environ[ENFORCE_VARIABLE] = "1"
    try:
        emulator.start()
        result = gitops("bootstrap", "local", "--github-repository", REPOSITORY, outdir=outdir)
        assert result.returncode == 0, result.stderr
        yield emulator.attach(load_environment("local"))
    finally:
        emulator.stop()  # the next module starts its own, without enforcement
        os.environ.pop(ENFORCE_VARIABLE, None)


def test_the_plan_role_plans_and_is_refused_at_its_first_write(bootstrapped, outdir) -> None:
    planned = gitops("plan", "local", "--no-synth", outdir=outdir, role=PLAN_ROLE)
    assert planned.returncode == 0, planned.stderr
    assert re.search(r"\d+ to add", planned.stdout), planned.stdout
    applied = gitops("apply", "local", "--no-synth", outdir=outdir, role=PLAN_ROLE)
    assert applied.returncode == 1
    (line,) = applied.stderr.strip().splitlines()
    denied = re.search(rf"access-denied: .*assumed-role/{PLAN_ROLE}/\S+ may not (\S+)$", line)
    assert denied, line
    action = denied.group(1)
    # A write: the state lock (dynamodb:PutItem), which `apply` takes and previews do not; API
    # Gateway names its IAM actions by HTTP verb (apigateway:POST), the rest by verb.
    writes = ("Create", "Allocate", "Import", "Put", "Register", "POST", "PUT", "PATCH")
    assert action.split(":")[1].startswith(writes), action
    assert remote_state(bootstrapped) is None, "the refused apply wrote no state"
    lock = boto3.client(
        "dynamodb", region_name="us-east-1", endpoint_url=bootstrapped.emulator.endpoint,
        verify=str(emulator.ca_bundle()), **{
            k.lower(): v for k, v in emulator.EMULATOR_CREDENTIALS.items()
        },
    )  # fmt: skip
    items = lock.scan(TableName=bootstrapped.state.lock_table)["Items"]
    assert [i for i in items if not i["LockID"]["S"].endswith("-md5")] == [], "lock released"


def test_the_pipeline_roles_cannot_touch_the_backend_or_themselves(bootstrapped) -> None:
    iam, s3 = as_role(APPLY_ROLE, "iam"), as_role(APPLY_ROLE, "s3")
    for role in (PLAN_ROLE, APPLY_ROLE):
        with pytest.raises(ClientError, match="AccessDenied"):
            iam.put_role_policy(RoleName=role, PolicyName="more", PolicyDocument="{}")
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_bucket(Bucket=bootstrapped.state.bucket)
    plan_s3 = as_role(PLAN_ROLE, "s3")
    with pytest.raises(ClientError, match="AccessDenied"):
        plan_s3.get_object(Bucket=bootstrapped.state.bucket, Key="fraud-detection/prod.tfstate")


def test_without_one_action_the_deploy_fails_naming_it(bootstrapped, outdir, aws) -> None:
    iam = aws("iam")
    arn = next(
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=APPLY_ROLE)["AttachedPolicies"]
        if REMOVED
        in json.dumps(
            iam.get_policy_version(
                PolicyArn=p["PolicyArn"],
                VersionId=iam.get_policy(PolicyArn=p["PolicyArn"])["Policy"]["DefaultVersionId"],
            )["PolicyVersion"]["Document"]
        )
    )
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    for statement in document["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != REMOVED]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)

    applied = gitops("apply", "local", "--no-synth", outdir=outdir, role=APPLY_ROLE)
    assert applied.returncode == 1
    assert applied.stderr.strip().endswith(f"may not {REMOVED}"), applied.stderr

    restored = gitops("bootstrap", "local", "--github-repository", REPOSITORY, outdir=outdir)
    assert restored.returncode == 0, restored.stderr
    assert "created   iam apply_role" in restored.stdout, "bootstrap put the policy back"


def test_the_apply_role_deploys_replans_to_nothing_and_destroys(bootstrapped, outdir, aws) -> None:
    applied = gitops("apply", "local", "--no-synth", outdir=outdir, role=APPLY_ROLE)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    assert "Apply complete!" in applied.stdout
    state = remote_state(bootstrapped)
    assert len([r for r in state["resources"] if r["mode"] == "managed"]) > 100
    replanned = gitops("plan", "local", "--no-synth", outdir=outdir, role=PLAN_ROLE)
    assert replanned.returncode == 0, replanned.stderr
    assert "no changes" in replanned.stdout
    destroyed = gitops("local", "down", outdir=outdir, role=APPLY_ROLE)
    assert destroyed.returncode == 0, destroyed.stdout[-2000:] + destroyed.stderr
