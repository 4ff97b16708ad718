"""Every environment synthesizes: backend, provider pin, default tags, names and the network."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.environments import environment_names, load_environment
from infra.versions import AWS_PROVIDER_VERSION
from tests.helpers import one, resources

ENVIRONMENTS = environment_names()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stack_is_named_for_its_environment(stacks: dict[str, Any], env: str) -> None:
    assert stacks[env]["//"]["metadata"]["stackName"] == f"fraud-detection-{env}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_backend_with_lock_table_and_own_key(stacks: dict[str, Any], env: str) -> None:
    config = load_environment(env)
    backend = stacks[env]["terraform"]["backend"]["s3"]
    assert backend["bucket"] == config.state.bucket
    assert backend["key"] == f"fraud-detection/{env}.tfstate"
    assert backend["dynamodb_table"] == config.state.lock_table
    assert backend["encrypt"] is True
    assert backend["region"] == config.state.region


def test_state_keys_are_unique_per_environment(stacks: dict[str, Any]) -> None:
    keys = [stacks[env]["terraform"]["backend"]["s3"]["key"] for env in ENVIRONMENTS]
    assert len(set(keys)) == len(ENVIRONMENTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_aws_provider_is_pinned(stacks: dict[str, Any], env: str) -> None:
    terraform = stacks[env]["terraform"]
    assert terraform["required_providers"]["aws"]["version"] == AWS_PROVIDER_VERSION
    assert terraform["required_version"].startswith(">= 1.11")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provider_default_tags(stacks: dict[str, Any], env: str) -> None:
    provider = stacks[env]["provider"]["aws"][0]
    tags = provider["default_tags"][0]["tags"]
    assert tags["Environment"] == env
    assert tags["Service"] == "fraud-detection-api"
    for key in ("Owner", "CostCenter", "DataClassification"):
        assert tags[key], key
    assert provider["region"] == load_environment(env).region
    assert provider["allowed_account_ids"] == [load_environment(env).account_id]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_cloud_environments_use_real_endpoints(stacks: dict[str, Any], env: str) -> None:
    provider = stacks[env]["provider"]["aws"][0]
    backend = stacks[env]["terraform"]["backend"]["s3"]
    assert "endpoints" not in provider and "skip_credentials_validation" not in provider
    assert "endpoints" not in backend


def test_local_points_provider_and_backend_at_the_emulator(stacks: dict[str, Any]) -> None:
    endpoint = load_environment("local").emulator.endpoint
    provider = stacks["local"]["provider"]["aws"][0]
    assert set(provider["endpoints"][0].values()) == {endpoint}
    assert provider["s3_use_path_style"] is True
    backend = stacks["local"]["terraform"]["backend"]["s3"]
    assert backend["endpoints"] == {"s3": endpoint, "dynamodb": endpoint}
    assert backend["use_path_style"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_uses_the_environment_cidr(stacks: dict[str, Any], env: str) -> None:
    vpc = one(stacks[env], "aws_vpc")
    assert vpc["cidr_block"] == load_environment(env).network.vpc_cidr
    assert vpc["tags"]["Name"] == f"fraud-vpc-{env}"
    assert vpc["enable_dns_hostnames"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_public_and_private_subnet_per_az_without_overlap(stacks: dict[str, Any], env: str) -> None:
    config = load_environment(env)
    subnets = resources(stacks[env], "aws_subnet").values()
    tiers = [subnet["tags"]["Tier"] for subnet in subnets]
    assert tiers.count("public") == config.network.az_count
    assert tiers.count("private") == config.network.az_count
    vpc = ipaddress.IPv4Network(config.network.vpc_cidr)
    networks = [ipaddress.IPv4Network(subnet["cidr_block"]) for subnet in subnets]
    assert all(network.subnet_of(vpc) for network in networks)
    for index, network in enumerate(networks):
        assert not any(network.overlaps(other) for other in networks[index + 1 :])
    assert all(subnet.get("map_public_ip_on_launch") is not True for subnet in subnets)


@pytest.mark.parametrize(
    ("env", "expected"), [("dev", 1), ("staging", 1), ("prod", 3), ("local", 1)]
)
def test_nat_gateways_one_or_per_az(stacks: dict[str, Any], env: str, expected: int) -> None:
    assert len(resources(stacks[env], "aws_nat_gateway")) == expected


def test_private_routes_use_their_own_az_nat_in_prod(stacks: dict[str, Any]) -> None:
    routes = [
        route["nat_gateway_id"]
        for route in resources(stacks["prod"], "aws_route").values()
        if "nat_gateway_id" in route
    ]
    assert len(routes) == 3 and len(set(routes)) == 3


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_security_group_is_emptied(stacks: dict[str, Any], env: str) -> None:
    group = one(stacks[env], "aws_default_security_group")
    assert not group.get("ingress") and not group.get("egress")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_id_output_is_described(stacks: dict[str, Any], env: str) -> None:
    output = stacks[env]["output"]["vpc_id"]
    assert output["description"]
    assert output["value"].startswith("${aws_vpc.")


def test_construct_ids_are_stable(stacks: dict[str, Any]) -> None:
    """Renaming a construct id destroys and recreates its resource; this pins the ids."""
    vpc_ids = list(resources(stacks["dev"], "aws_vpc"))
    assert vpc_ids == ["network_vpc_4E8F0223"]
