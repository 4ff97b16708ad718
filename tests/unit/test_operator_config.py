"""The load balancer's direct-access settings: operator networks and the origin secret's period."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.environments import load_environment
from tests.unit.test_config import load_error, write_variant

OPERATORS = ["203.0.113.0/24", "198.51.100.0/28"]


def test_nobody_has_direct_access_unless_listed() -> None:
    for name in ("dev", "staging", "prod", "local"):
        balancer = load_environment(name).load_balancer
        assert balancer.operator_cidrs == () and balancer.origin_secret_rotation_days == 30


def test_operator_networks_load_as_a_tuple(tmp_path: Path) -> None:
    def change(data):
        data["load_balancer"]["operator_cidrs"] = OPERATORS

    config = load_environment("prod", write_variant(tmp_path, "prod", change))
    assert config.load_balancer.operator_cidrs == tuple(OPERATORS)


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("0.0.0.0/0", "load_balancer.operator_cidrs.0: 0.0.0.0/0 is wider than /8"),
        ("10.0.0.1/24", "load_balancer.operator_cidrs.0: not a valid IPv4 CIDR block"),
        ("office", "load_balancer.operator_cidrs.0: not a valid IPv4 CIDR block"),
    ],
)
def test_an_operator_network_that_would_open_the_door_is_refused(
    tmp_path: Path, cidr: str, expected: str
) -> None:
    def change(data):
        data["load_balancer"]["operator_cidrs"] = [cidr]

    assert expected in load_error(tmp_path, "dev", change)


def test_the_test_listener_admits_only_listed_operators(tmp_path: Path) -> None:
    def change(data):
        data["load_balancer"]["operator_cidrs"] = OPERATORS[:1]
        data["blue_green"]["test_listener"]["allowed_cidrs"] = OPERATORS

    message = load_error(tmp_path, "staging", change)
    assert message.endswith(
        "blue_green.test_listener.allowed_cidrs: 198.51.100.0/28 is not in"
        " load_balancer.operator_cidrs; list it there too"
    )


def test_rotation_period_is_bounded(tmp_path: Path) -> None:
    def change(data):
        data["load_balancer"]["origin_secret_rotation_days"] = 0

    message = load_error(tmp_path, "dev", change)
    assert "load_balancer.origin_secret_rotation_days" in message
