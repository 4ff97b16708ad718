"""The pipeline roles proven in an emulator that enforces IAM (gitops.emulator.iam_enforcement).

Bootstrap as the administrator, then every `gitops` command as the role a workflow job would
have: the plan role plans and is refused at its first write; an apply role missing one action
the deploy needs fails naming it; bootstrap restores the policy; then two regions at once:
`local` and a copy of it in us-west-2 (`local-west`), each deployed by its own apply role in
parallel into the same emulator and account, each re-planned to nothing by its plan role, and
`local` destroyed. moto enforces actions only: the ARNs and conditions of the same documents
are proven in tests/bootstrap/test_roles.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from gitops.emulator import server as emulator
from gitops.emulator.iam_enforcement import ENFORCE_VARIABLE, ROLE_VARIABLE, role_credentials
from gitops.emulator.local import remote_state

from infra.environments import DEFAULT_ENVIRONMENTS_DIR, ENVIRONMENTS_DIR_VARIABLE, load_environment

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))
REPOSITORY = "acme/fraud-detection"
PLAN_ROLE, APPLY_ROLE = "fraud-gitops-plan-local", "fraud-gitops-apply-local"
WEST = "local-west"
REMOVED = "ecs:CreateCluster"
"""The representative action taken from the apply role: the first wave of a deploy needs it."""


def command(*args: str, outdir: Path, role: str | None) -> tuple[list[str], dict[str, str]]:
    """A `gitops` command line and its environment, as the job assuming `role` runs it."""
    environment = {k: v for k, v in os.environ.items() if k != ROLE_VARIABLE}
    environment[ENVIRONMENTS_DIR_VARIABLE] = str(outdir.parent / "environments")
    if role:
        environment[ROLE_VARIABLE] = role
    return [GITOPS, *args, "--outdir", str(outdir)], environment


def gitops(*args: str, outdir: Path, role: str | None = None) -> subprocess.CompletedProcess:
    line, environment = command(*args, outdir=outdir, role=role)
    return subprocess.run(line, env=environment, capture_output=True, text=True, timeout=1200)


def gitops_in_parallel(*runs: tuple[str, ...], outdir: Path, roles: list[str]) -> list[str]:
    """Run the commands at once, each as its role; their outputs once all have succeeded.

    Output goes to files, not pipes: a full pipe would stall one apply while the test waits on
    the other, and the two would no longer run in parallel.
    """
    started = []
    try:
        for args, role in zip(runs, roles, strict=True):
            log = outdir.parent / f"{'-'.join(args)}.log"
            line, environment = command(*args, outdir=outdir, role=role)
            with open(log, "wb") as handle:
                process = subprocess.Popen(line, env=environment, stdout=handle, stderr=handle)
            started.append((process, log))
        for process, _ in started:
            process.wait(timeout=1500)
    finally:  # a failure or a timeout must not leave the other one running
        for process, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, log in started:
        assert process.returncode == 0, log.read_text()[-3000:]
    return [log.read_text() for _, log in started]


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
    """The synthesized stacks' folder, beside the environment files: `local` and `local-west`."""
    module_dir = tmp_path_factory.mktemp("roles")
    environments = module_dir / "environments"
    environments.mkdir()
    shutil.copy(DEFAULT_ENVIRONMENTS_DIR / "local.yaml", environments / "local.yaml")
    text = (DEFAULT_ENVIRONMENTS_DIR / "local.yaml").read_text()
    west, count = re.subn(r"(?m)^region: us-east-1$", "region: us-west-2", text)
    assert count == 1
    (environments / f"{WEST}.yaml").write_text(west)
    return module_dir / "out"


@pytest.fixture(scope="module")
def bootstrapped(work_dir, outdir):
    """A fresh emulator with IAM enforced, both environments bootstrapped by the administrator."""
    emulator.stop()
    os.environ[ENFORCE_VARIABLE] = "1"
    try:
        emulator.start()
        for name in ("local", WEST):
            result = gitops("bootstrap", name, "--github-repository", REPOSITORY, outdir=outdir)
            assert result.returncode == 0, result.stderr
        yield emulator.attach(load_environment("local", outdir.parent / "environments"))
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


def test_the_apply_roles_deploy_two_regions_in_parallel_replan_to_nothing_and_destroy(
    bootstrapped, outdir
) -> None:
    names = ("local", WEST)
    applied = gitops_in_parallel(
        *(("apply", name, "--no-synth") for name in names),
        outdir=outdir,
        roles=[f"fraud-gitops-apply-{name}" for name in names],
    )
    assert all("Apply complete!" in output for output in applied)
    assert "alb_dns_name = fraud-alb-local-" in applied[0]
    assert ".us-west-2." in applied[1], "local-west's resources live in us-west-2"
    state = remote_state(bootstrapped)
    assert len([r for r in state["resources"] if r["mode"] == "managed"]) > 100

    replanned = gitops_in_parallel(
        *(("plan", name, "--no-synth") for name in names),
        outdir=outdir,
        roles=[f"fraud-gitops-plan-{name}" for name in names],
    )
    for name, output in zip(names, replanned, strict=True):
        assert f"fraud-detection-{name}: no changes" in output, output[-2000:]
    destroyed = gitops("local", "down", outdir=outdir, role=APPLY_ROLE)
    assert destroyed.returncode == 0, destroyed.stdout[-2000:] + destroyed.stderr
