"""Only API Gateway (and listed operator networks) reach the target groups, in every environment.

The listener, security group and the load balancer's web ACL are evaluated as data
(tests/synth/waf_evaluation.py): a request from the internet without the origin header reaches
no target group; one carrying the value API Gateway's integration sends reaches the active one.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.environments import environment_names, load_environment
from infra.origin_verification import HEADER_NAME, days_since_epoch
from tests.helpers import find, ref, resources
from tests.synth.waf_evaluation import Request, reachable_target_groups, web_acl_of

ENVIRONMENTS = environment_names()

PER_ENV = pytest.mark.parametrize("env", ENVIRONMENTS)
INTERNET = "198.51.100.7"
OPERATOR_NETWORK = "203.0.113.0/24"
OPERATOR = "203.0.113.9"


def sent_by_api_gateway(stack: dict[str, Any]) -> str:
    """The header value every integration adds (a static value, quoted), the same for all."""
    values = {
        integration["request_parameters"][f"integration.request.header.{HEADER_NAME}"]
        for integration in resources(stack, "aws_api_gateway_integration").values()
    }
    assert len(values) == 1, values
    (value,) = values
    assert value.startswith("'") and value.endswith("'"), value
    return value[1:-1]


def data_ref(stack: dict[str, Any], path: str) -> str:
    logical_id, _ = find(stack, "data.aws_secretsmanager_secret_version", path)
    return f"${{data.aws_secretsmanager_secret_version.{logical_id}.secret_string}}"


@PER_ENV
def test_a_request_without_the_header_reaches_no_target_group(stacks, env) -> None:
    stack = stacks[env]
    assert reachable_target_groups(stack, Request(INTERNET)) == []
    assert reachable_target_groups(stack, Request(OPERATOR)) == [], "no operator network listed"
    wrong = Request(INTERNET, {HEADER_NAME: "guess"})
    assert reachable_target_groups(stack, wrong) == []
    elsewhere = Request(INTERNET, {"x-api-key": sent_by_api_gateway(stack)})
    assert reachable_target_groups(stack, elsewhere) == [], "the value under another header"


@PER_ENV
def test_what_api_gateway_sends_reaches_the_active_target_group(stacks, env) -> None:
    stack = stacks[env]
    sent = sent_by_api_gateway(stack)
    assert sent == data_ref(stack, "origin-verification/current")
    for name in (HEADER_NAME, HEADER_NAME.upper()):  # header names are case-insensitive
        reached = reachable_target_groups(stack, Request(INTERNET, {name: sent}))
        assert reached == [f"fraud-tg-blue-{env}"]


@PER_ENV
def test_the_previous_value_still_passes_during_a_rotation(stacks, env) -> None:
    stack = stacks[env]
    previous = data_ref(stack, "origin-verification/previous")
    assert previous != sent_by_api_gateway(stack)
    assert reachable_target_groups(stack, Request(INTERNET, {HEADER_NAME: previous})) == [
        f"fraud-tg-blue-{env}"
    ]


@PER_ENV
def test_the_web_acl_changes_before_api_gateway_sends_a_new_value(stacks, env) -> None:
    stack = stacks[env]
    acl = ref(stack, "aws_wafv2_web_acl", "alb-waf/acl", "arn").removesuffix(".arn}")[2:]
    for integration in resources(stack, "aws_api_gateway_integration").values():
        assert acl in integration["depends_on"]
    _, deployment = find(stack, "aws_api_gateway_deployment", "api/deployment")
    assert deployment["triggers"]["origin"] == "${sha256(" + sent_by_api_gateway(stack)[2:-1] + ")}"


@PER_ENV
def test_the_secret_is_kms_encrypted_written_write_only_and_in_no_output(stacks, env) -> None:
    stack = stacks[env]
    _, secret = find(stack, "aws_secretsmanager_secret", "origin-verification/secret")
    assert secret["kms_key_id"] == ref(stack, "aws_kms_key", "keys/data", "arn")
    _, version = find(stack, "aws_secretsmanager_secret_version", "origin-verification/value")
    assert "secret_string" not in version
    assert version["secret_string_wo"].startswith("${ephemeral.aws_secretsmanager_random_password")
    (password,) = stack["ephemeral"]["aws_secretsmanager_random_password"].values()
    assert password == {"password_length": 64, "exclude_punctuation": True}
    assert "aws_secretsmanager_secret_version" not in json.dumps(stack["output"])
    days = load_environment(env).load_balancer.origin_secret_rotation_days
    (period,) = [v for k, v in stack["locals"].items() if "rotation-period" in k]
    assert period.endswith(f" / {days})}}") and "plantimestamp()" in period


@PER_ENV
def test_the_load_balancers_acl_blocks_by_default(stacks, env) -> None:
    acl = web_acl_of(stacks[env])
    assert acl is not None and acl["default_action"] == {"block": {}}
    assert acl["rule"][0]["name"] == "allow-api-gateway-origin"


@pytest.fixture(scope="module")
def with_operators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """dev with one operator network, synthesized into a folder of its own."""
    from infra.app import stack_file, synthesize

    config = load_environment("dev")
    balancer = config.load_balancer.model_copy(update={"operator_cidrs": (OPERATOR_NETWORK,)})
    listener = config.blue_green.test_listener.model_copy(
        update={"allowed_cidrs": (OPERATOR_NETWORK,)}
    )
    blue_green = config.blue_green.model_copy(update={"test_listener": listener})
    outdir = tmp_path_factory.mktemp("operators")
    synthesize(
        [config.model_copy(update={"load_balancer": balancer, "blue_green": blue_green})], outdir
    )
    return json.loads(stack_file(outdir, "fraud-detection-dev").read_text())


def test_listed_operators_reach_the_service_and_nobody_else_does(with_operators) -> None:
    stack = with_operators
    (ip_set,) = resources(stack, "aws_wafv2_ip_set").values()
    assert ip_set["addresses"] == [OPERATOR_NETWORK]
    assert reachable_target_groups(stack, Request(OPERATOR)) == ["fraud-tg-blue-dev"]
    assert reachable_target_groups(stack, Request(INTERNET)) == []
    blocked_country = Request(OPERATOR, country="KP")
    assert reachable_target_groups(stack, blocked_country) == [], "geo-block still applies"


def test_the_test_listener_answers_operators_and_nobody_else(stacks, with_operators) -> None:
    port = load_environment("dev").blue_green.test_listener.port
    assert reachable_target_groups(with_operators, Request(OPERATOR, port=port))
    header = {HEADER_NAME: sent_by_api_gateway(with_operators)}
    assert reachable_target_groups(with_operators, Request(INTERNET, header, port=port)) == []
    for env in ENVIRONMENTS:  # the files list no operator: the test port is closed to all
        assert reachable_target_groups(stacks[env], Request(OPERATOR, port=port)) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform on PATH")
def test_the_rotation_day_count_is_the_real_day_count_in_terraform(tmp_path: Path) -> None:
    dates = [datetime.date(1970, 1, 1), datetime.date(2000, 2, 29), datetime.date(2024, 3, 1),
             datetime.date(2026, 12, 31), datetime.date(2027, 1, 1)]  # fmt: skip
    # One expression: `terraform console` reading a pipe prints only its last result.
    days = ", ".join(days_since_epoch(f'"{date}T12:00:00Z"') for date in dates)
    result = subprocess.run(["terraform", "console"], input=f"jsonencode([{days}])\n",
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=True)  # fmt: skip
    expected = [(date - datetime.date(1970, 1, 1)).days for date in dates]
    assert json.loads(json.loads(result.stdout)) == expected
