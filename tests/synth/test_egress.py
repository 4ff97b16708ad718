"""Where the API tasks can send traffic: the load balancer's health checks aside, to Aurora, to
the AWS service endpoints inside the VPC, to S3 through its gateway, and (the one reviewed
exception, until the daemon's cache is filled from outside the VPC) HTTPS through NAT."""

from __future__ import annotations

import json

import pytest
from gitops.policy import gate as policy

from infra.environments import environment_names, load_environment
from infra.naming import Naming
from infra.registry import public_image_parts
from infra.service_endpoints import INTERFACE_SERVICES
from tests.helpers import find, ref, resources

PER_ENV = pytest.mark.parametrize("env", environment_names())
ANYWHERE = ("0.0.0.0/0", "::/0")
INTERNET_EXCEPTION = "security-groups/tasks-out-https"


@PER_ENV
def test_only_the_reviewed_rule_lets_anything_out_to_the_internet(stacks, env) -> None:
    egress = resources(stacks[env], "aws_vpc_security_group_egress_rule").values()
    to_internet = [
        rule["//"]["metadata"]["path"].split("/", 1)[1]
        for rule in egress
        if rule.get("cidr_ipv4") in ANYWHERE or rule.get("cidr_ipv6") in ANYWHERE
    ]
    assert to_internet == [INTERNET_EXCEPTION]
    _, rule = find(stacks[env], "aws_vpc_security_group_egress_rule", INTERNET_EXCEPTION)
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (443, 443, "tcp")
    for group in resources(stacks[env], "aws_security_group").values():
        assert not group.get("egress"), group  # inline rules would escape the loop above


def test_the_internet_exception_is_a_reviewed_skip_of_ckv_fd_15() -> None:
    (entry,) = [skip for skip in policy.load_skips() if skip.check == "CKV_FD_15"]
    assert entry.resources == (INTERNET_EXCEPTION,) and entry.environments is None
    assert "first pull" in entry.reason and "Remove this rule" in entry.reason


@PER_ENV
def test_tasks_reach_only_aurora_the_endpoints_and_s3(stacks, env) -> None:
    stack = stacks[env]
    tasks = ref(stack, "aws_security_group", "security-groups/tasks", "id")
    peers = {
        (
            rule["from_port"],
            rule.get("referenced_security_group_id")
            or rule.get("prefix_list_id")
            or rule["cidr_ipv4"],
        )
        for rule in resources(stack, "aws_vpc_security_group_egress_rule").values()
        if rule["security_group_id"] == tasks
    }
    assert peers == {
        (443, "0.0.0.0/0"),
        (5432, ref(stack, "aws_security_group", "security-groups/db", "id")),
        (443, ref(stack, "aws_security_group", "security-groups/endpoints", "id")),
        (443, ref(stack, "aws_vpc_endpoint", "endpoints/s3", "prefix_list_id")),
    }


@PER_ENV
def test_endpoints_are_private_in_every_private_subnet_and_open_only_to_the_tasks(
    stacks, env
) -> None:
    stack = stacks[env]
    config = load_environment(env)
    endpoints = ref(stack, "aws_security_group", "security-groups/endpoints", "id")
    private_subnets = sorted(
        f"${{aws_subnet.{logical_id}.id}}"
        for logical_id, subnet in resources(stack, "aws_subnet").items()
        if subnet["tags"]["Tier"] == "private"
    )
    interfaces = {
        body["service_name"]: body
        for body in resources(stack, "aws_vpc_endpoint").values()
        if body["vpc_endpoint_type"] == "Interface"
    }
    assert sorted(interfaces) == sorted(
        f"com.amazonaws.{config.region}.{service}" for service in INTERFACE_SERVICES
    )
    for body in interfaces.values():
        assert body["private_dns_enabled"] is True
        assert sorted(body["subnet_ids"]) == private_subnets
        assert body["security_group_ids"] == [endpoints]
        (allow,) = json.loads(body["policy"])["Statement"]
        assert allow["Condition"] == {"StringEquals": {"aws:PrincipalAccount": config.account_id}}
    inbound = [
        rule
        for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if rule["security_group_id"] == endpoints
    ]
    assert [(r["from_port"], r["referenced_security_group_id"]) for r in inbound] == [
        (443, ref(stack, "aws_security_group", "security-groups/tasks", "id"))
    ]


@PER_ENV
def test_s3_gateway_serves_the_private_route_tables_and_only_ecr_layers(stacks, env) -> None:
    stack = stacks[env]
    region = load_environment(env).region
    _, gateway = find(stack, "aws_vpc_endpoint", "endpoints/s3")
    assert gateway["vpc_endpoint_type"] == "Gateway"
    private_tables = sorted(
        f"${{aws_route_table.{logical_id}.id}}"
        for logical_id, table in resources(stack, "aws_route_table").items()
        if "private" in table["//"]["metadata"]["path"]
    )
    assert len(private_tables) == 3 and sorted(gateway["route_table_ids"]) == private_tables
    (statement,) = json.loads(gateway["policy"])["Statement"]
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"]


@PER_ENV
def test_the_daemon_is_pulled_through_this_registrys_cache(stacks, env) -> None:
    stack = stacks[env]
    (rule,) = resources(stack, "aws_ecr_pull_through_cache_rule").values()
    assert rule["upstream_registry_url"] == "public.ecr.aws"
    assert rule["ecr_repository_prefix"] == Naming(env).ecr_cache_prefix()
    assert rule["ecr_repository_prefix"].startswith("fraud-ecr-public-")
    _, cache = find(stack, "aws_ecr_repository", "registry/sidecar")
    path, _ = public_image_parts(load_environment(env).service.xray_daemon_image)
    prefix = ref(stack, "aws_ecr_pull_through_cache_rule", "registry/ecr-public-cache",
                 "ecr_repository_prefix")  # fmt: skip
    assert cache["name"] == f"{prefix}/{path}"
    _, policy = find(stack, "aws_iam_role_policy", "roles/execution-policy")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    pull = statements["PullDaemonThroughTheCache"]
    assert "ecr:BatchImportUpstreamImage" in pull["Action"]
    assert pull["Resource"] == [ref(stack, "aws_ecr_repository", "registry/sidecar", "arn")]
    assert cache["force_delete"] is True  # holds only a copy of a public image
    assert not any("ecr:CreateRepository" in s["Action"] for s in statements.values())


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("public.ecr.aws/xray/aws-xray-daemon:3.3.14", ("xray/aws-xray-daemon", ":3.3.14")),
        (f"public.ecr.aws/xray/d@sha256:{'a' * 64}", ("xray/d", f"@sha256:{'a' * 64}")),
        ("public.ecr.aws/xray/d", ("xray/d", "")),
    ],
)
def test_public_image_parts(image, parts) -> None:
    assert public_image_parts(image) == parts


def test_an_image_from_elsewhere_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"docker.io/amazon/aws-xray-daemon:3: not an ECR Public"):
        public_image_parts("docker.io/amazon/aws-xray-daemon:3")
