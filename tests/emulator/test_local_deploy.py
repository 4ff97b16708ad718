"""`gitops local up|down` end to end: the whole stack in the emulator with the real provider.

One deployment for the module (about two minutes), then: resources read back with boto3, a
second `up` that applies nothing, the plan comment on a real plan that destroys everything,
an origin-value rotation planned and then applied from that saved plan, the replan after it
(no changes: its comment and fingerprint), and a `down` that leaves no resource and no
process. Each full plan costs close to a minute of CPU, so the tests share plans where one
serves two of them.
The state lock between two applies is proven on a small stack of its own
(`test_state_lock.py`), where the first apply really holds the lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gitops.emulator import server as emulator
from gitops.emulator.local import runner_for
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import GITHUB_COMMENT_LIMIT, CommentContext, render
from gitops.stacks import declared_resources
from gitops.terraform import plan_apply
from gitops.terraform.plan_json import load_plan

from infra.environments import load_environment

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))
OUTPUTS = ("alb_dns_name", "api_endpoint", "dashboard_url", "vpc_id", "ecs_cluster_name",
           "aurora_endpoint")  # fmt: skip


def gitops(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS, *args, "--outdir", str(outdir)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-out")


def local_resources(outdir: Path) -> int:
    """How many resources the synthesized `local` stack declares: what up and down must touch."""
    return declared_resources(outdir / "stacks" / "fraud-detection-local")


@pytest.fixture(scope="module")
def deployed(work_dir, outdir: Path) -> subprocess.CompletedProcess[str]:
    emulator.stop()  # a fresh emulator: this module deploys into an empty account
    result = gitops("local", "up", outdir=outdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result


def test_up_deploys_every_resource_and_prints_the_outputs(deployed, aws, outdir: Path) -> None:
    printed = dict(
        line.split(" = ", 1)
        for line in deployed.stdout.splitlines()
        if " = " in line and not line.startswith(" ")
    )
    assert set(OUTPUTS) <= set(printed)
    assert printed["ecs_cluster_name"] == "fraud-cluster-local"
    assert printed["vpc_id"].startswith("vpc-")
    count = local_resources(outdir)
    assert count >= 130, "the whole platform, not a fragment of it"
    assert f"Apply complete! Resources: {count} added, 0 changed, 0 destroyed." in deployed.stdout


def test_aurora_scaling_reads_back(deployed, aws) -> None:
    (cluster,) = aws("rds").describe_db_clusters(DBClusterIdentifier="fraud-db-local")["DBClusters"]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert cluster["StorageEncrypted"] is True
    assert cluster["Engine"] == "aurora-postgresql"


def test_usage_plan_limits_read_back(deployed, aws) -> None:
    (plan,) = aws("apigateway").get_usage_plans()["items"]
    assert plan["throttle"] == {"burstLimit": 2000, "rateLimit": 1000.0}
    assert plan["quota"]["limit"] == 100000 and plan["quota"]["period"] == "DAY"


def test_alarm_thresholds_read_back(deployed, aws) -> None:
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix="fraud-")["MetricAlarms"]
    thresholds = {alarm["AlarmName"]: alarm["Threshold"] for alarm in alarms}
    assert thresholds == {
        "fraud-api-latency-local": 200.0,
        "fraud-healthy-tasks-local": 1.0,
        "fraud-target-5xx-local": 10.0,
        "fraud-db-connections-local": 80.0,
    }
    # healthy tasks is metric math over both target groups: right whichever serves the release
    (healthy,) = [a for a in alarms if a["AlarmName"] == "fraud-healthy-tasks-local"]
    expressions = [q["Expression"] for q in healthy["Metrics"] if "Expression" in q]
    assert expressions == ["FILL(blue, 0) + FILL(green, 0)"]


def test_only_the_stacks_alarms_may_publish_to_its_topic(deployed, aws) -> None:
    sns = aws("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]
                if t["TopicArn"].endswith(":fraud-alarms-local")]  # fmt: skip
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    (statement,) = policy["Statement"]  # SNS's default, account-wide statements are gone
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish" and statement["Resource"] == topic
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix="fraud-")["MetricAlarms"]
    sources = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sorted(sources) == sorted(alarm["AlarmArn"] for alarm in alarms) and len(sources) == 4


def test_service_scaling_and_tracing_read_back(deployed, aws) -> None:
    (target,) = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    rules = aws("xray").get_sampling_rules()["SamplingRuleRecords"]
    assert [r["SamplingRule"]["RuleName"] for r in rules] == ["fraud-api-local"]
    groups = {g["targetGroupName"] if "targetGroupName" in g else g["TargetGroupName"]
              for g in aws("elbv2").describe_target_groups()["TargetGroups"]}  # fmt: skip
    assert groups == {"fraud-tg-blue-local", "fraud-tg-green-local"}


def test_the_tasks_reach_aurora_the_aws_endpoints_and_only_https_beyond(deployed, aws) -> None:
    ec2 = aws("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["fraud-vpc-local"]}])[
        "Vpcs"
    ]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(Filters=in_vpc)[
        "SecurityGroups"]}  # fmt: skip
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [groups["fraud-tasks-local"]]}]
    )["SecurityGroupRules"]
    egress = sorted(
        (
            r["FromPort"],
            r.get("ReferencedGroupInfo", {}).get("GroupId")
            or r.get("PrefixListId")
            or r.get("CidrIpv4"),
        )
        for r in rules
        if r["IsEgress"]
    )
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    (s3,) = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]
    (s3_list,) = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [s3["ServiceName"]]}]
    )["PrefixLists"]
    assert egress == sorted([
        (443, "0.0.0.0/0"),  # the reviewed exception: the daemon's first pull (policies/skips.yaml)
        (443, groups["fraud-endpoints-local"]), (443, s3_list["PrefixListId"]),
        (5432, groups["fraud-db-local"]),
    ])  # fmt: skip
    assert sorted(e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints) == sorted(
        ["api", "dkr", "logs", "secretsmanager", "xray", "s3"]
    )
    (cache,) = aws("ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert (cache["ecrRepositoryPrefix"], cache["upstreamRegistryUrl"]) == (
        "fraud-ecr-public-local", "public.ecr.aws",
    )  # fmt: skip


@pytest.fixture(scope="module")
def second_up(deployed, outdir: Path) -> dict[str, Any]:
    """`local up` again on the deployed stack: its output, and when its init was last run (the
    replan after the rotation checks that it reused it)."""
    result = gitops("local", "up", outdir=outdir)
    assert result.returncode == 0, result.stderr
    stack_dir = outdir / "stacks" / "fraud-detection-local"
    return {"result": result, "init": (stack_dir / plan_apply.INIT_STAMP).stat().st_mtime_ns}


def test_second_up_applies_nothing(second_up) -> None:
    result = second_up["result"]
    assert "plan: no changes" in result.stdout
    assert "applied" not in result.stdout and "Apply complete" not in result.stdout
    # Same backend, providers and binary as the first run: init is not paid again, and the
    # outputs still come (read from the state, not from another terraform process).
    assert "terraform init skipped: backend and providers unchanged" in result.stdout
    assert "synth skipped: " in result.stdout and "synthesized" not in result.stdout
    assert "ecs_cluster_name = fraud-cluster-local" in result.stdout


def test_a_destroy_plans_comment_shows_the_data_bearing_resources(second_up, outdir) -> None:
    """A destroy of everything, on a real plan of the deployed stack: within GitHub's limit,
    with true counts, and the data-bearing resources impossible to miss. (The no-change plan's
    comment and fingerprint are checked on the replan after the rotation below: each full plan
    costs close to a minute of CPU.)"""
    stack_dir = outdir / "stacks" / "fraud-detection-local"
    config = emulator.attach(load_environment("local"))
    destroy = plan_apply.plan(runner_for(config), stack_dir, destroy=True)
    plan = EnvironmentPlan.from_plan("local", load_plan(destroy.json_file))
    text = render([plan], CommentContext(commit="0" * 40))
    count = local_resources(outdir)
    assert (
        len(text) <= GITHUB_COMMENT_LIMIT and f"| `local` | 0 | 0 | 0 | {count} | 0 | 0 |" in text
    )
    callout = text.split("> [!CAUTION]", 1)[1].split("\n\n", 1)[0]
    assert f"**{count} resource(s) will be destroyed or replaced.**" in callout
    assert "**destroy** **`aws_rds_cluster." in callout and "(holds data)" in callout


STATE = ("fraud-detection-tfstate-123456789012", "fraud-detection/local.tfstate")


def origin_values(aws) -> dict[str, str]:
    """The origin-verification values in the emulator's state: address -> value."""
    state = json.loads(aws("s3").get_object(Bucket=STATE[0], Key=STATE[1])["Body"].read())
    return {
        f"terraform_data.{r['name']}": r["instances"][0]["attributes"]["output"]["value"]
        for r in state["resources"]
        if r["type"] == "terraform_data" and "_value-" in r["name"]
    }


def test_a_rotation_changes_the_plan_and_its_values_never_show(
    deployed, aws, outdir: Path, tmp_path: Path
) -> None:
    """All three origin values replaced (as three period boundaries would), through gitops' own plan
    with Terraform's `-replace` (TF_CLI_ARGS_plan): the web ACL, the integrations and the
    deployment change, and no value appears in gitops' output, the plan summary, the comment or
    the job summary. plan.json holds the new values as unknown (Terraform draws them at apply)
    and the values in use marked sensitive."""
    old = origin_values(aws)
    assert len(old) == 3 and all(len(value) == 64 for value in old.values())
    step_summary = tmp_path / "step-summary.md"
    replace = " ".join(f"-replace={address}" for address in sorted(old))
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step_summary), "TF_CLI_ARGS_plan": replace}
    stack_dir = outdir / "stacks" / "fraud-detection-local"
    planned = subprocess.run([GITOPS, "plan", "local", "--no-synth", "--outdir", str(outdir)],
                             env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    summary = stack_dir / "plan-summary.json"
    comment = subprocess.run([GITOPS, "comment", f"local={summary}"], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert comment.returncode == 0, comment.stderr
    plan = load_plan(stack_dir / "plan.json")
    changes = {c["address"]: c["change"] for c in plan["resource_changes"]}
    for address in old:
        # create first: the API deployment is create_before_destroy, and so its dependencies
        assert changes[address]["actions"] == ["create", "delete"]
        assert changes[address]["after_unknown"]["output"] is True, "drawn at apply"
        assert changes[address]["after_sensitive"]["input"] is True
    (acl,) = [c for a, c in changes.items() if a.startswith("aws_wafv2_web_acl.alb-waf_acl")]
    assert acl["actions"] == ["update"] and "true" in json.dumps(acl["after_sensitive"]["rule"])
    integrations = [c for a, c in changes.items() if a.startswith("aws_api_gateway_integration.")]
    assert integrations and all(c["after_unknown"]["request_parameters"] for c in integrations)
    shown = [planned.stdout, planned.stderr, summary.read_text(), comment.stdout,
             comment.stderr, step_summary.read_text()]  # fmt: skip
    for text in shown:
        for value in old.values():
            assert value not in text
    changed = comment.stdout
    assert "aws_wafv2_web_acl.alb-waf_acl" in changed and "(sensitive)" in changed
    # The rule set is marked sensitive as a whole; the comment still shows what changed in it.
    assert '"search_string":"(sensitive)"' in changed
    assert '"search_string":"(known after apply)"' in changed
    assert "aws_api_gateway_integration.api_detect-integration" in changed
    assert "aws_api_gateway_deployment.api_deployment" in changed


def test_a_rotation_applies_in_place_and_replans_empty(
    second_up, aws, outdir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The rotation planned above, applied from its saved plan as a deploy applies the reviewed
    one: new values in the web ACL and the integrations (moto needs
    gitops.emulator.apigateway_integration for that), none of them printed; the next plan has
    nothing to do, says so plainly, carries the fingerprint `gitops fingerprint` gives its
    plan, and reuses the init `up` made."""
    old = origin_values(aws)
    stack_dir = outdir / "stacks" / "fraud-detection-local"
    config = emulator.attach(load_environment("local"))
    plan_apply.apply(runner_for(config), stack_dir, stack_dir / plan_apply.PLAN_FILE)
    applied = capfd.readouterr()
    assert "Apply complete!" in applied.out, applied.out[-3000:]
    new = origin_values(aws)
    assert set(new) == set(old) and not set(new.values()) & set(old.values())
    for value in [*old.values(), *new.values()]:
        assert value not in applied.out + applied.err
    waf = aws("wafv2")
    (summary,) = [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"]
                  if a["Name"].startswith("fraud-alb-")]  # fmt: skip
    # boto3 gives each byte match's search string as bytes: read the ACL as text.
    acl = str(waf.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"]))
    assert all(value in acl for value in new.values())
    assert not any(value in acl for value in old.values())
    api = aws("apigateway")
    (rest,) = api.get_rest_apis()["items"]
    sent = {
        parameter
        for resource in api.get_resources(restApiId=rest["id"], embed=["methods"])["items"]
        for method in resource.get("resourceMethods", {}).values()
        for parameter in method.get("methodIntegration", {}).get("requestParameters", {}).values()
    }
    assert len(sent & {f"'{value}'" for value in new.values()}) == 1, "one value sent"
    replanned = gitops("plan", "local", "--no-synth", outdir=outdir)
    assert replanned.returncode == 0, replanned.stderr
    assert (stack_dir / plan_apply.INIT_STAMP).stat().st_mtime_ns == second_up["init"], (
        "the plan reuses the init `up` made"
    )
    fingerprint = replanned.stdout.split("fingerprint: ", 1)[1].split()[0]
    shown = subprocess.run([GITOPS, "fingerprint", str(stack_dir / "plan.json")],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert fingerprint == shown.stdout.strip()
    comment = subprocess.run([GITOPS, "comment", f"local={stack_dir / 'plan-summary.json'}"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "**`local`: no changes.** The infrastructure matches the code." in comment.stdout, (
        comment.stdout[:3000]
    )


def test_down_destroys_everything_and_stops_the_emulator(deployed, aws, outdir: Path) -> None:
    running = emulator.require_running()
    state_bucket_keys = aws("s3").list_objects_v2(Bucket="fraud-detection-tfstate-123456789012")
    assert state_bucket_keys["KeyCount"] >= 1
    result = gitops("local", "down", outdir=outdir)
    assert result.returncode == 0, result.stderr
    assert f"Destroy complete! Resources: {local_resources(outdir)} destroyed." in result.stdout
    assert not emulator.is_alive(running.pid)
    assert emulator.read_state() is None
    state = json.loads((outdir / "stacks" / "fraud-detection-local" / "cdk.tf.json").read_text())
    assert state["terraform"]["backend"]["s3"]["key"] == "fraud-detection/local.tfstate"
