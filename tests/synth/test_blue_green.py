"""Blue/green through CodeDeploy in every environment: what the synthesized JSON must say."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.environments import environment_names, load_environment
from tests.helpers import find, one, ref, resources

ENVIRONMENTS = environment_names()

PER_ENV = pytest.mark.parametrize("env", ENVIRONMENTS)


def group(stack: dict[str, Any]) -> dict[str, Any]:
    return one(stack, "aws_codedeploy_deployment_group")


@PER_ENV
def test_the_service_is_deployed_by_codedeploy_and_terraform_leaves_it_alone(stacks, env) -> None:
    service = one(stacks[env], "aws_ecs_service")
    assert service["deployment_controller"] == {"type": "CODE_DEPLOY"}
    assert service.get("deployment_circuit_breaker") is None  # ECS refuses it with CODE_DEPLOY
    ignored = service["lifecycle"]["ignore_changes"]
    assert sorted(ignored) == ["desired_count", "load_balancer", "task_definition"]


@PER_ENV
def test_listeners_default_actions_belong_to_codedeploy(stacks, env) -> None:
    stack = stacks[env]
    for path in ("load-balancer/https", "blue-green/test-listener"):
        _, listener = find(stack, "aws_lb_listener", path)
        assert listener["lifecycle"]["ignore_changes"] == ["default_action"], path


@PER_ENV
def test_old_task_definitions_stay_registered_for_rollback(stacks, env) -> None:
    assert one(stacks[env], "aws_ecs_task_definition")["skip_destroy"] is True


@PER_ENV
def test_deployment_group_shifts_between_blue_and_green(stacks, env) -> None:
    stack, config = stacks[env], load_environment(env)
    body = group(stack)
    assert one(stack, "aws_codedeploy_app")["compute_platform"] == "ECS"
    assert body["deployment_style"] == {
        "deployment_option": "WITH_TRAFFIC_CONTROL",
        "deployment_type": "BLUE_GREEN",
    }
    pair = body["load_balancer_info"]["target_group_pair_info"]
    assert [g["name"] for g in pair["target_group"]] == [
        f"fraud-tg-blue-{env}",
        f"fraud-tg-green-{env}",
    ]
    assert pair["prod_traffic_route"]["listener_arns"] == [
        ref(stack, "aws_lb_listener", "load-balancer/https", "arn")
    ]
    assert pair["test_traffic_route"]["listener_arns"] == [
        ref(stack, "aws_lb_listener", "blue-green/test-listener", "arn")
    ]
    assert body["ecs_service"]["service_name"] == ref(
        stack, "aws_ecs_service", "service/service", "name"
    )
    termination = body["blue_green_deployment_config"][
        "terminate_blue_instances_on_deployment_success"
    ]
    assert termination == {
        "action": "TERMINATE",
        "termination_wait_time_in_minutes": config.blue_green.termination_wait_minutes,
    }


@PER_ENV
def test_rollback_on_failure_and_on_the_three_alarms(stacks, env) -> None:
    stack = stacks[env]
    body = group(stack)
    assert body["auto_rollback_configuration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert body["alarm_configuration"]["enabled"] is True
    assert body["alarm_configuration"]["alarms"] == [
        ref(stack, "aws_cloudwatch_metric_alarm", f"monitoring/{key}", "alarm_name")
        for key in ("api-latency", "healthy-tasks", "target-5xx")
    ]


@PER_ENV
def test_target_5xx_alarm_threshold_comes_from_the_file(stacks, env) -> None:
    _, alarm = find(stacks[env], "aws_cloudwatch_metric_alarm", "monitoring/target-5xx")
    assert alarm["metric_name"] == "HTTPCode_Target_5XX_Count"
    assert alarm["threshold"] == load_environment(env).alarms.max_target_5xx_per_minute


@PER_ENV
def test_healthy_tasks_are_counted_over_both_target_groups(stacks, env) -> None:
    stack = stacks[env]
    _, alarm = find(stack, "aws_cloudwatch_metric_alarm", "monitoring/healthy-tasks")
    groups = {
        q["id"]: q["metric"]["dimensions"]["TargetGroup"]
        for q in alarm["metric_query"]
        if "metric" in q
    }
    assert groups == {
        color: ref(stack, "aws_lb_target_group", f"load-balancer/tg-{color}", "arn_suffix")
        for color in ("blue", "green")
    }
    (expression,) = [q for q in alarm["metric_query"] if q.get("return_data")]
    assert expression["expression"] == "FILL(blue, 0) + FILL(green, 0)"


@pytest.mark.parametrize(
    ("env", "expected"),
    [("dev", "CodeDeployDefault.ECSAllAtOnce"), ("local", "CodeDeployDefault.ECSAllAtOnce")],
)
def test_dev_shifts_all_at_once_by_predefined_name(stacks, env, expected) -> None:
    assert group(stacks[env])["deployment_config_name"] == expected
    assert not resources(stacks[env], "aws_codedeploy_deployment_config")


@pytest.mark.parametrize(
    ("env", "routing"),
    [
        (
            "staging",
            {"type": "TimeBasedLinear", "time_based_linear": {"interval": 1, "percentage": 20}},
        ),
        (
            "prod",
            {"type": "TimeBasedCanary", "time_based_canary": {"interval": 5, "percentage": 10}},
        ),
    ],
)
def test_staging_linear_and_prod_canary_are_own_configurations(stacks, env, routing) -> None:
    stack = stacks[env]
    config = one(stack, "aws_codedeploy_deployment_config")
    assert config["traffic_routing_config"] == routing
    assert config["compute_platform"] == "ECS"
    assert group(stack)["deployment_config_name"] == ref(
        stack, "aws_codedeploy_deployment_config", "blue-green/config", "deployment_config_name"
    )


@PER_ENV
def test_test_listener_is_tls_and_closed_without_listed_cidrs(stacks, env) -> None:
    stack = stacks[env]
    _, listener = find(stack, "aws_lb_listener", "blue-green/test-listener")
    assert listener["protocol"] == "HTTPS" and listener["ssl_policy"].startswith(
        "ELBSecurityPolicy-TLS13"
    )
    assert listener["port"] == load_environment(env).blue_green.test_listener.port
    rules = [
        rule for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if rule.get("from_port") == listener["port"]
    ]  # fmt: skip
    assert rules == []  # every shipped file lists no operator networks


def test_listed_cidrs_open_only_the_test_port(tmp_path) -> None:
    """A file that lists operator networks gets one ingress rule each, on the test port only."""
    import yaml
    from cdktf import App

    from infra.config import parse_environment
    from infra.environments import environment_file
    from infra.stack import FraudDetectionStack

    data = yaml.safe_load(environment_file("dev").read_text())
    data["blue_green"]["test_listener"] = {
        "port": 9443,
        "allowed_cidrs": ["198.51.100.0/24", "203.0.113.7/32"],
    }
    # Only listed operators may reach the test listener (#13): the same networks, listed there.
    data["load_balancer"]["operator_cidrs"] = ["198.51.100.0/24", "203.0.113.7/32"]
    app = App(outdir=str(tmp_path))
    FraudDetectionStack(app, parse_environment("dev", data, "dev.yaml"))
    app.synth()
    stack = json.loads(next(tmp_path.rglob("cdk.tf.json")).read_text())
    rules = [
        body for logical_id, body in resources(stack, "aws_vpc_security_group_ingress_rule").items()
        if "test-in" in logical_id
    ]  # fmt: skip
    assert sorted(r["cidr_ipv4"] for r in rules) == ["198.51.100.0/24", "203.0.113.7/32"]
    assert {(r["from_port"], r["to_port"]) for r in rules} == {(9443, 9443)}


@PER_ENV
def test_codedeploy_role_is_least_privilege(stacks, env) -> None:
    stack = stacks[env]
    _, role = find(stack, "aws_iam_role", "blue-green/role")
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "codedeploy.amazonaws.com"}]
    _, policy = find(stack, "aws_iam_role_policy", "blue-green/role-policy")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    actions = {a for s in statements.values() for a in s["Action"]}
    assert not {a for a in actions if a.startswith(("lambda:", "s3:", "sns:"))}
    assert statements["PassTaskRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert statements["MoveTraffic"]["Resource"] == [
        ref(stack, "aws_lb_listener", "load-balancer/https", "arn"),
        ref(stack, "aws_lb_listener", "blue-green/test-listener", "arn"),
    ]
    # CreateTaskSet and DeleteTaskSet are authorized on task sets, the rest on the service
    shift = statements["ShiftTheService"]
    assert "ecs:CreateTaskSet" in shift["Action"] and "ecs:DeleteTaskSet" in shift["Action"]
    service, task_sets = shift["Resource"]
    assert task_sets == service.replace(":service/", ":task-set/") + "/*"
    alarms = statements["WatchRollbackAlarms"]["Resource"]
    assert [arn.rsplit(":alarm:", 1)[1] for arn in alarms] == group(stack)["alarm_configuration"][
        "alarms"
    ]
