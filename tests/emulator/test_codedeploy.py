"""gitops.emulator.codedeploy against the live emulator: each operation moto 5.2.5 lacks, and
ECS blue/green deployments that run, stop on an alarm and roll back, as in AWS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator

APP, GROUP = "bg-app", "bg-group"


def wait_for_end(codedeploy: Any, deployment_id: str, limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.2)
    raise AssertionError(f"deployment {deployment_id} still {info['status']} after {limit}s")


@pytest.fixture(scope="module")
def blue_green(aws) -> dict[str, Any]:
    return build(aws)


def build(
    aws, cluster: str = "bg", service: str = "api", app: str = APP, group: str = GROUP,
    alarm: str = "bg-5xx", prefix: str = "bg", region: str = "us-east-1",
) -> dict[str, Any]:  # fmt: skip
    """A Fargate service behind blue, HTTPS listeners, an alarm and a blue/green group over it."""
    ec2, ecs, elb, cloudwatch = aws("ec2"), aws("ecs"), aws("elbv2"), aws("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.98.{i}.0/24", AvailabilityZone=f"{region}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName=prefix, Description=prefix, VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnets, SecurityGroups=[sg])
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        color: elb.create_target_group(
            Name=f"{prefix}-tg-{color}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    }

    # HTTPS, as in the stack: moving an HTTPS listener must keep its certificate.
    certificate = aws("acm").request_certificate(DomainName=f"{prefix}.fraud.example")[
        "CertificateArn"
    ]

    def listener(port: int) -> str:
        action = [{"Type": "forward", "TargetGroupArn": groups["blue"]}]
        return elb.create_listener(
            LoadBalancerArn=lb_arn, Protocol="HTTPS", Port=port, DefaultActions=action,
            Certificates=[{"CertificateArn": certificate}],
        )["Listeners"][0]["ListenerArn"]  # fmt: skip

    prod, test = listener(80), listener(8443)
    ecs.create_cluster(clusterName=cluster)

    def task(image: str) -> str:
        return ecs.register_task_definition(
            family=service, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
            memory="512", containerDefinitions=[{"name": "api", "image": image}],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip

    first = task("api@sha256:" + "1" * 64)
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=first, desiredCount=1,
        launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": groups["blue"], "containerName": "api",
                        "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )  # fmt: skip
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    codedeploy = aws("codedeploy")
    codedeploy.create_application(applicationName=app, computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName=app, deploymentGroupName=group,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN",
                         "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE",
                                                          "terminationWaitTimeInMinutes": 0},
        },
        autoRollbackConfiguration={"enabled": True,
                                   "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        alarmConfiguration={"enabled": True, "alarms": [{"name": alarm}]},
        ecsServices=[{"clusterName": cluster, "serviceName": service}],
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": f"{prefix}-tg-blue"}, {"name": f"{prefix}-tg-green"}],
            "prodTrafficRoute": {"listenerArns": [prod]},
            "testTrafficRoute": {"listenerArns": [test]},
        }]},
    )  # fmt: skip
    return {"groups": groups, "prod": prod, "test": test, "task": task, "first": first}


def deploy(aws, task_definition: str) -> str:
    content = json.dumps({
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080},
        }}}],
    })  # fmt: skip
    return aws("codedeploy").create_deployment(
        applicationName=APP, deploymentGroupName=GROUP,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
    )["deploymentId"]  # fmt: skip


def served(aws, listener: str) -> dict[str, int]:
    (action,) = aws("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"][0][
        "DefaultActions"
    ]
    forward = action.get("ForwardConfig", {}).get("TargetGroups")
    if not forward:
        return {action["TargetGroupArn"]: 100}
    return {g["TargetGroupArn"]: g["Weight"] for g in forward if g["Weight"]}


def running(aws) -> tuple[str, str]:
    service = aws("ecs").describe_services(cluster="bg", services=["api"])["services"][0]
    return service["taskDefinition"], service["loadBalancers"][0]["targetGroupArn"]


def test_deployment_group_reads_back_its_alarms_and_updates(aws, blue_green) -> None:
    codedeploy = aws("codedeploy")
    info = codedeploy.get_deployment_group(applicationName=APP, deploymentGroupName=GROUP)
    assert info["deploymentGroupInfo"]["alarmConfiguration"]["alarms"] == [{"name": "bg-5xx"}]

    def update(config: str, alarms: list[str]) -> dict[str, Any]:
        codedeploy.update_deployment_group(
            applicationName=APP, currentDeploymentGroupName=GROUP, deploymentConfigName=config,
            alarmConfiguration={"enabled": True, "alarms": [{"name": a} for a in alarms]},
        )  # fmt: skip
        group = codedeploy.get_deployment_group(applicationName=APP, deploymentGroupName=GROUP)
        return group["deploymentGroupInfo"]

    changed = update("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", ["bg-5xx", "bg-other"])
    assert changed["deploymentConfigName"] == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    assert changed["alarmConfiguration"]["alarms"] == [{"name": "bg-5xx"}, {"name": "bg-other"}]
    restored = update("CodeDeployDefault.ECSAllAtOnce", ["bg-5xx"])  # the module's next tests
    assert restored["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert restored["alarmConfiguration"]["alarms"] == [{"name": "bg-5xx"}]


def test_deployment_configs_predefined_custom_and_deleted(aws) -> None:
    codedeploy = aws("codedeploy")
    predefined = codedeploy.get_deployment_config(
        deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes"
    )["deploymentConfigInfo"]
    assert predefined["trafficRoutingConfig"]["timeBasedCanary"]["canaryPercentage"] == 10
    routing = {"type": "TimeBasedLinear",
               "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 1}}  # fmt: skip
    codedeploy.create_deployment_config(
        deploymentConfigName="linear-20", computePlatform="ECS", trafficRoutingConfig=routing
    )
    info = codedeploy.get_deployment_config(deploymentConfigName="linear-20")
    assert info["deploymentConfigInfo"]["trafficRoutingConfig"] == routing
    codedeploy.delete_deployment_config(deploymentConfigName="linear-20")
    with pytest.raises(ClientError, match="DeploymentConfigDoesNotExist"):
        codedeploy.get_deployment_config(deploymentConfigName="linear-20")


def test_a_good_release_swaps_listener_and_task_definition_in_seconds(aws, blue_green) -> None:
    second = blue_green["task"]("api@sha256:" + "2" * 64)
    started = time.monotonic()
    info = wait_for_end(aws("codedeploy"), deploy(aws, second))
    elapsed = time.monotonic() - started
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert elapsed < 10, elapsed
    green = blue_green["groups"]["green"]
    assert served(aws, blue_green["prod"]) == {green: 100}
    assert running(aws) == (second, green)
    targets = aws("codedeploy").batch_get_deployment_targets(
        deploymentId=info["deploymentId"], targetIds=["bg:api"]
    )["deploymentTargets"][0]["ecsTarget"]
    assert {e["status"] for e in targets["lifecycleEvents"]} == {"Succeeded"}


def test_an_alarm_stops_the_release_and_traffic_stays(aws, blue_green) -> None:
    before = running(aws)
    third = blue_green["task"]("api@sha256:" + "3" * 64)
    cloudwatch = aws("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="bg-5xx", StateValue="ALARM", StateReason="test")
    try:
        info = wait_for_end(aws("codedeploy"), deploy(aws, third))
    finally:
        cloudwatch.set_alarm_state(AlarmName="bg-5xx", StateValue="OK", StateReason="test")
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "bg-5xx" in info["errorInformation"]["message"]
    assert "bg-tg-green" in info["rollbackInfo"]["rollbackMessage"]
    assert running(aws) == before
    assert served(aws, blue_green["prod"]) == {before[1]: 100}


def test_stop_deployment_rolls_back_and_a_missing_task_definition_fails(aws, blue_green) -> None:
    codedeploy = aws("codedeploy")
    before = running(aws)
    info = wait_for_end(
        codedeploy, deploy(aws, "arn:aws:ecs:us-east-1:123456789012:task-definition/none:9")
    )
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    deployment = deploy(aws, blue_green["task"]("api@sha256:" + "4" * 64))
    assert codedeploy.stop_deployment(deploymentId=deployment)["status"] == "Pending"
    assert wait_for_end(codedeploy, deployment)["status"] == "Stopped"
    assert running(aws) == before


def test_delete_group_then_application(aws, blue_green) -> None:
    codedeploy = aws("codedeploy")
    codedeploy.create_application(applicationName="gone", computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName="gone", deploymentGroupName="g",
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
    )  # fmt: skip
    codedeploy.delete_deployment_group(applicationName="gone", deploymentGroupName="g")
    with pytest.raises(ClientError, match="DeploymentGroupDoesNotExist"):
        codedeploy.get_deployment_group(applicationName="gone", deploymentGroupName="g")
    codedeploy.delete_application(applicationName="gone")
    with pytest.raises(ClientError, match="ApplicationDoesNotExist"):
        codedeploy.get_application(applicationName="gone")


def test_a_rollout_that_cannot_even_roll_back_ends_failed_instead_of_hanging(aws) -> None:
    """With the production listener gone, both the traffic shift and the rollback fail: the
    deployment must still end, so a follower (`gitops deploy`) never waits out its timeout."""
    built = build(aws, cluster="lost", app="lost-app", group="lost-group", alarm="lost-5xx",
                  prefix="lost", region="us-east-1")  # fmt: skip
    aws("elbv2").delete_listener(ListenerArn=built["prod"])
    content = json.dumps({"version": 0.0, "Resources": [{"TargetService": {
        "Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": built["task"]("api@sha256:" + "5" * 64),
            "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080}}}}]})  # fmt: skip
    deployment = aws("codedeploy").create_deployment(
        applicationName="lost-app", deploymentGroupName="lost-group",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
    )["deploymentId"]  # fmt: skip
    info = wait_for_end(aws("codedeploy"), deployment)
    assert info["status"] == "Failed"
    assert "AllowTraffic" in info["errorInformation"]["message"]
