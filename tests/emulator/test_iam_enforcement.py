"""The emulator's IAM enforcement layer: how it names actions (pure) and that it enforces them
(a small live check, far cheaper than a deploy)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from gitops.emulator import server as emulator
from gitops.emulator.iam_enforcement import ENFORCE_VARIABLE, iam_action, role_credentials

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize(
    ("signing_name", "operation", "method", "path", "expected"),
    [
        ("monitoring", "PutDashboard", "POST", "/", "cloudwatch:PutDashboard"),
        ("apigateway", "CreateRestApi", "POST", "/restapis", "apigateway:POST"),
        ("apigateway", "GetRestApi", "GET", "/restapis/x", "apigateway:GET"),
        ("s3", "HeadObject", "HEAD", "/b/k", "s3:GetObject"),
        ("s3", "CreateBucket", "PUT", "/b?encryption", "s3:PutEncryptionConfiguration"),
        ("s3", "ListBucket", "GET", "/b?publicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        ("s3", "DeleteBucket", "DELETE", "/b?ownershipControls", "s3:PutBucketOwnershipControls"),
        ("s3", "CreateBucket", "PUT", "/b", "s3:CreateBucket"),
        ("ec2", "CreateVpc", "POST", "/", "ec2:CreateVpc"),
    ],
)
def test_actions_get_iam_names(signing_name, operation, method, path, expected) -> None:
    assert iam_action(signing_name, operation, method, path) == expected


@pytest.fixture(scope="module")
def enforced(work_dir):
    emulator.stop()
    os.environ[ENFORCE_VARIABLE] = "1"
    try:
        yield emulator.start()
    finally:
        emulator.stop()
        os.environ.pop(ENFORCE_VARIABLE, None)


def _client(state, service: str, **credentials: str):
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=state.endpoint,
        verify=str(emulator.ca_bundle()), **credentials,
    )  # fmt: skip


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_role_may_do_what_its_policy_names_and_nothing_else(enforced) -> None:
    admin = {k.lower(): v for k, v in emulator.EMULATOR_CREDENTIALS.items()}
    iam = _client(enforced, "iam", **admin)
    trust = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/x"},
    }
    describe = {
        "Effect": "Allow",
        "Action": ["ec2:DescribeVpcs"],
        "Resource": "arn:aws:ec2:us-east-1:123456789012:*",
    }
    iam.create_role(RoleName="fraud-probe", AssumeRolePolicyDocument=_doc(trust))
    iam.put_role_policy(
        RoleName="fraud-probe", PolicyName="describe", PolicyDocument=_doc(describe)
    )
    credentials = role_credentials(enforced.endpoint, str(emulator.ca_bundle()), "fraud-probe")
    ec2 = _client(enforced, "ec2", **{k.lower(): v for k, v in credentials.items()})
    ec2.describe_vpcs()  # an ARN-scoped Allow matches where moto knows no ARN
    with pytest.raises(ClientError, match="not authorized to perform: ec2:CreateVpc"):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")
    ecs = _client(enforced, "ecs", **{k.lower(): v for k, v in credentials.items()})
    with pytest.raises(ClientError, match="not authorized to perform: ecs:CreateCluster") as e:
        ecs.create_cluster(clusterName="fraud-probe")  # JSON protocol: the message survives
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    unknown = {"aws_access_key_id": "AKIASTRANGER"}
    unknown["aws_secret_access_key"] = "x"  # pragma: allowlist secret
    stranger = _client(enforced, "ec2", **unknown)
    with pytest.raises(ClientError):
        stranger.describe_vpcs()
