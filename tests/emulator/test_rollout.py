"""`gitops deploy`'s rollout step (gitops.pipeline.rollout) against the emulator's CodeDeploy:
nothing to do, a good rollout followed line by line, a re-run that follows the deployment in
progress instead of starting another, an alarm that stops it in one line."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from gitops.emulator import server as emulator
from gitops.pipeline import rollout

from infra.environments import load_environment
from tests.emulator.test_codedeploy import build

pytestmark = pytest.mark.emulator

REGION = "eu-west-1"  # apart from the other emulator tests' us-east-1 resources


@pytest.fixture(scope="module")
def client(aws) -> Any:
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=emulator.EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=emulator.EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )

    def factory(service: str) -> Any:
        endpoint = emulator.start().endpoint
        return session.client(service, endpoint_url=endpoint, verify=str(emulator.ca_bundle()))

    return factory


@pytest.fixture(scope="module")
def local(client) -> dict[str, Any]:
    """The local environment's names (fraud-api-local, ...) over a small blue/green setup."""
    return build(
        client, cluster="fraud-cluster-local", service="fraud-api-local", app="fraud-api-local",
        group="fraud-api-local", alarm="fraud-target-5xx-local", prefix="fraud", region=REGION,
    )  # fmt: skip


def test_nothing_to_roll_out_when_the_service_runs_the_newest(client, local) -> None:
    lines: list[str] = []
    assert rollout.follow(load_environment("local"), client, lines.append, 0.1) is None
    assert lines == [
        f"local: the service runs {local['first'].rpartition('/')[2]}; nothing to roll out"
    ]


def test_a_new_revision_rolls_out_with_a_line_per_step(client, local) -> None:
    second = local["task"]("api@sha256:" + "5" * 64)
    lines: list[str] = []
    done = rollout.follow(load_environment("local"), client, lines.append, 0.1)
    assert done is not None and done.to_revision == second and done.seconds < 15
    text = "\n".join(lines)
    assert "status Succeeded" in text and "AllowTraffic Succeeded" in text
    assert "traffic fraud-tg-blue 0%, fraud-tg-green 100%" in text
    assert f"| `{done.deployment_id}` |" in done.summary_markdown("local")


def test_a_rerun_follows_the_deployment_in_progress_instead_of_starting_another(
    client, local
) -> None:
    """A deploy job re-run while its first attempt's deployment still waits (here: for someone
    to continue it after testing, `blue_green.ready_wait_minutes`) must not start a second."""
    codedeploy = client("codedeploy")
    names = {"applicationName": "fraud-api-local", "deploymentGroupName": "fraud-api-local"}

    def ready_option(action: str) -> None:
        codedeploy.update_deployment_group(
            applicationName="fraud-api-local", currentDeploymentGroupName="fraud-api-local",
            blueGreenDeploymentConfiguration={
                "deploymentReadyOption": {"actionOnTimeout": action, "waitTimeInMinutes": 5},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
            },
        )  # fmt: skip

    registered = local["task"]("api@sha256:" + "7" * 64)
    before = set(codedeploy.list_deployments(**names)["deployments"])
    ready_option("STOP_DEPLOYMENT")
    try:
        first_attempt = codedeploy.create_deployment(
            **names, revision=rollout.appspec(registered, "api", 8080)
        )["deploymentId"]
        lines: list[str] = []
        # The tester continues it a moment after the re-run has started following.
        tester = threading.Timer(
            1.0,
            codedeploy.continue_deployment,
            kwargs={"deploymentId": first_attempt, "deploymentWaitType": "READY_WAIT"},
        )
        tester.start()
        done = rollout.follow(load_environment("local"), client, lines.append, 0.1)
        tester.join()
    finally:
        ready_option("CONTINUE_DEPLOYMENT")
    assert lines[0] == f"local: following deployment {first_attempt}, already in progress"
    assert done is not None and done.deployment_id == first_attempt
    assert set(codedeploy.list_deployments(**names)["deployments"]) - before == {first_attempt}


def test_an_alarm_fails_the_rollout_in_one_line_naming_deployment_and_alarm(client, local) -> None:
    (listener,) = client("elbv2").describe_listeners(ListenerArns=[local["prod"]])["Listeners"]
    (action,) = listener["DefaultActions"]
    weighted = action.get("ForwardConfig", {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    top = max(weighted, key=lambda group: group.get("Weight", 1))
    serving = top["TargetGroupArn"].split(":targetgroup/")[1]
    local["task"]("api@sha256:" + "6" * 64)
    cloudwatch = client("cloudwatch")
    cloudwatch.set_alarm_state(
        AlarmName="fraud-target-5xx-local", StateValue="ALARM", StateReason="t"
    )
    try:
        with pytest.raises(rollout.RolloutFailed) as failed:
            rollout.follow(load_environment("local"), client, lambda _: None, 0.1)
    finally:
        cloudwatch.set_alarm_state(
            AlarmName="fraud-target-5xx-local", StateValue="OK", StateReason="t"
        )
    message = str(failed.value)
    assert message.startswith("deployment ") and " stopped at " in message
    assert "fraud-target-5xx-local" in message
    assert f"traffic is back on {serving.split('/')[0]}" in message
    assert "\n" not in message
