"""Each operation gitops.emulator.moto_compat adds, against the live emulator: if a moto upgrade
breaks one of them (or makes one unnecessary), a test here says which.

The last tests pin what `make local`'s speed rests on: the emulator reports the settled state
(active, available, gone, as written) at the first read after a change. The provider's own
fixed waits before that first read are what remains (see the note in gitops.emulator.moto_compat).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def ecs_service(aws):
    """A Fargate service, which moto requires before a scalable target can be registered."""
    ec2, ecs = aws("ec2"), aws("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="compat")
    task = ecs.register_task_definition(
        family="compat",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "app@sha256:" + "0" * 64}],
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster="compat",
        serviceName="api",
        taskDefinition=task,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
        },
        enableECSManagedTags=True,
        healthCheckGracePeriodSeconds=60,
        availabilityZoneRebalancing="DISABLED",
    )["service"]
    return {"vpc": vpc, "service": service}


def test_autoscaling_target_tags(aws, ecs_service) -> None:
    scaling = aws("application-autoscaling")
    arn = scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/compat/api",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=10,
        Tags={"Environment": "test"},
    )["ScalableTargetARN"]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Environment": "test"}
    scaling.tag_resource(ResourceARN=arn, Tags={"Owner": "platform"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["Environment"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Owner": "platform"}


def test_xray_sampling_rule_lifecycle(aws) -> None:
    xray = aws("xray")
    rule = {
        "RuleName": "compat", "Priority": 1000, "FixedRate": 0.05, "ReservoirSize": 1,
        "ServiceName": "api", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*",
        "ResourceARN": "*", "Version": 1,
    }  # fmt: skip
    created = xray.create_sampling_rule(SamplingRule=rule, Tags=[{"Key": "Env", "Value": "t"}])
    arn = created["SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
    assert arn == f"arn:aws:xray:us-east-1:{ACCOUNT}:sampling-rule/compat"
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "compat", "FixedRate": 0.1})
    records = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert [r["SamplingRule"]["FixedRate"] for r in records] == [0.1]
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "Env", "Value": "t"}]
    xray.delete_sampling_rule(RuleName="compat")
    assert xray.get_sampling_rules()["SamplingRuleRecords"] == []
    with pytest.raises(ClientError, match="does not exist"):
        xray.delete_sampling_rule(RuleName="compat")


def test_ecr_pull_through_cache_rule_lifecycle(aws) -> None:
    ecr = aws("ecr")
    created = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="compat-cache", upstreamRegistryUrl="public.ecr.aws"
    )
    assert (created["ecrRepositoryPrefix"], created["registryId"]) == ("compat-cache", ACCOUNT)
    with pytest.raises(ClientError, match="PullThroughCacheRuleAlreadyExists"):
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="compat-cache", upstreamRegistryUrl="public.ecr.aws"
        )
    (rule,) = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["compat-cache"])[
        "pullThroughCacheRules"
    ]
    assert rule["upstreamRegistryUrl"] == "public.ecr.aws"
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="compat-cache")
    for call in (
        lambda: ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["compat-cache"]),
        lambda: ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="compat-cache"),
    ):
        with pytest.raises(ClientError, match="PullThroughCacheRuleNotFound"):
            call()


def test_tls_only_bucket_policy_lets_https_through_and_other_denies_still_apply(aws) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="compat-tls")
    deny_plain_http = {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"},
        "Action": "s3:*", "Resource": ["arn:aws:s3:::compat-tls", "arn:aws:s3:::compat-tls/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [deny_plain_http]}
    s3.put_bucket_policy(Bucket="compat-tls", Policy=json.dumps(policy))
    s3.put_object(Bucket="compat-tls", Key="state", Body=b"{}")
    assert s3.get_object(Bucket="compat-tls", Key="state")["Body"].read() == b"{}"

    deny_all = {**deny_plain_http, "Sid": "DenyEverything"}
    del deny_all["Condition"]
    s3.put_bucket_policy(
        Bucket="compat-tls", Policy=json.dumps({**policy, "Statement": [deny_all]})
    )
    with pytest.raises(ClientError, match=r"Forbidden|AccessDenied"):
        s3.head_object(Bucket="compat-tls", Key="state")


def test_eventbridge_notification_reads_back(aws) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="compat-events")
    s3.put_bucket_notification_configuration(
        Bucket="compat-events", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    configuration = s3.get_bucket_notification_configuration(Bucket="compat-events")
    assert "EventBridgeConfiguration" in configuration


def test_rds_performance_insights_and_no_serverless_v1_info(aws) -> None:
    rds = aws("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="compat", Engine="aurora-postgresql", EngineVersion="16.4",
        MasterUsername="admin_user", ManageMasterUserPassword=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4.0},
    )["DBCluster"]  # fmt: skip
    assert "ScalingConfigurationInfo" not in cluster
    rds.create_db_instance(
        DBInstanceIdentifier="compat-1", DBClusterIdentifier="compat", Engine="aurora-postgresql",
        DBInstanceClass="db.serverless", EnablePerformanceInsights=True,
        PerformanceInsightsRetentionPeriod=7,
    )  # fmt: skip
    instance = rds.describe_db_instances(DBInstanceIdentifier="compat-1")["DBInstances"][0]
    assert instance["PerformanceInsightsEnabled"] is True
    assert instance["PerformanceInsightsRetentionPeriod"] == 7


def test_ecs_service_keeps_its_settings(aws, ecs_service) -> None:
    (service,) = aws("ecs").describe_services(cluster="compat", services=["api"])["services"]
    assert service["enableECSManagedTags"] is True
    assert service["healthCheckGracePeriodSeconds"] == 60
    assert service["availabilityZoneRebalancing"] == "DISABLED"


def test_referenced_group_rule_keeps_its_description(aws, ecs_service) -> None:
    ec2 = aws("ec2")
    target = ec2.create_security_group(GroupName="db", Description="db", VpcId=ecs_service["vpc"])
    source = ec2.create_security_group(GroupName="app", Description="app", VpcId=ecs_service["vpc"])
    rule = ec2.authorize_security_group_ingress(
        GroupId=target["GroupId"],
        IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": source["GroupId"], "Description": "from app"}],
        }],
    )["SecurityGroupRules"][0]  # fmt: skip
    (read,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])[
        "SecurityGroupRules"
    ]
    assert read["Description"] == "from app"


def test_prefix_list_rule_keeps_its_description(aws, ecs_service) -> None:
    ec2 = aws("ec2")
    group = ec2.create_security_group(GroupName="t", Description="t", VpcId=ecs_service["vpc"])
    (s3,) = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}]
    )["PrefixLists"]
    rule = ec2.authorize_security_group_egress(
        GroupId=group["GroupId"],
        IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "PrefixListIds": [{"PrefixListId": s3["PrefixListId"], "Description": "to S3"}],
        }],
    )["SecurityGroupRules"][0]  # fmt: skip
    (read,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])[
        "SecurityGroupRules"
    ]
    assert (read["PrefixListId"], read["Description"]) == (s3["PrefixListId"], "to S3")


def test_cancel_rotation_of_a_managed_rotation_secret(aws) -> None:
    """Rotation on, with no Lambda (as RDS-managed rotation is): moto alone refuses to cancel it."""
    secrets = aws("secretsmanager")
    arn = secrets.create_secret(Name="compat-managed", SecretString="x")[
        "ARN"
    ]  # pragma: allowlist secret
    secrets.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 7})
    described = secrets.describe_secret(SecretId=arn)
    assert described["RotationEnabled"] is True and not described.get("RotationLambdaARN")
    assert secrets.cancel_rotate_secret(SecretId=arn)["ARN"] == arn
    assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is False


# --- settled at the first read ----------------------------------------------------------------


@pytest.fixture(scope="module")
def two_zones(aws):
    """A VPC with a subnet in each of two zones, as a load balancer needs."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.98.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    return {"vpc": vpc, "subnets": subnets}


def test_load_balancer_is_active_at_the_first_describe(aws, two_zones) -> None:
    elbv2 = aws("elbv2")
    arn = elbv2.create_load_balancer(Name="compat-settled", Subnets=two_zones["subnets"])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["State"]["Code"] == "active"
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "30"}]
    )
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["State"]["Code"] == "active"


def test_lifecycle_configuration_reads_back_as_written_at_once(aws) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="compat-lifecycle")
    rule = {
        "ID": "expire-logs", "Filter": {"Prefix": ""}, "Status": "Enabled",
        "Expiration": {"Days": 90}, "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }  # fmt: skip
    s3.put_bucket_lifecycle_configuration(
        Bucket="compat-lifecycle",
        LifecycleConfiguration={"Rules": [rule]},
        TransitionDefaultMinimumObjectSize="all_storage_classes_128K",
    )
    read = s3.get_bucket_lifecycle_configuration(Bucket="compat-lifecycle")
    assert read["Rules"] == [rule]
    assert read["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"


def test_aurora_is_available_at_once_and_gone_at_once(aws) -> None:
    rds = aws("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="compat-settled", Engine="aurora-postgresql", EngineVersion="16.4",
        MasterUsername="admin_user", ManageMasterUserPassword=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4.0},
    )  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier="compat-settled-1", DBClusterIdentifier="compat-settled",
        Engine="aurora-postgresql", DBInstanceClass="db.serverless",
    )  # fmt: skip
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="compat-settled")["DBClusters"]
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="compat-settled-1")["DBInstances"]
    assert (cluster["Status"], instance["DBInstanceStatus"]) == ("available", "available")

    rds.delete_db_instance(DBInstanceIdentifier="compat-settled-1", SkipFinalSnapshot=True)
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        rds.describe_db_instances(DBInstanceIdentifier="compat-settled-1")
    rds.delete_db_cluster(DBClusterIdentifier="compat-settled", SkipFinalSnapshot=True)
    with pytest.raises(ClientError, match="DBClusterNotFound"):
        rds.describe_db_clusters(DBClusterIdentifier="compat-settled")


def test_nat_gateway_is_available_at_once_and_deleted_at_once(aws, two_zones) -> None:
    ec2 = aws("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=two_zones["subnets"][0], AllocationId=allocation)[
        "NatGateway"
    ]["NatGatewayId"]
    (read,) = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"]
    assert read["State"] == "available"
    ec2.delete_nat_gateway(NatGatewayId=nat)
    (read,) = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"]
    assert read["State"] == "deleted"
