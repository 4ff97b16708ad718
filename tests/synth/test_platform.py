"""Every component of the brief, per environment, asserted on the synthesized JSON.

Numbers from the brief are written here literally (BRIEF): if an environment file or a
construct drifts from the brief, a test breaks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.environments import environment_names, load_environment
from tests.helpers import find, one, ref, resources

ENVIRONMENTS = environment_names()

BRIEF = {
    "min_tasks": 2,
    "max_tasks": 10,
    "cpu_target": 70,
    "min_acu": 0.5,
    "max_acu": 4.0,
    "rate_rps": 1000,
    "burst": 2000,
    "daily_quota": 100_000,
    "latency_ms": 200,
    "healthy_tasks": 1,
    "db_connections": 80,
    "log_days": 30,
    "flow_log_days": 90,
    "azs": 3,
}
PER_ENV = pytest.mark.parametrize("env", ENVIRONMENTS)


def container(stack: dict[str, Any], name: str) -> dict[str, Any]:
    task = one(stack, "aws_ecs_task_definition")
    return next(c for c in json.loads(task["container_definitions"]) if c["name"] == name)


# --- network -------------------------------------------------------------------------------


@PER_ENV
def test_three_azs_pinned_by_name(stacks, env) -> None:
    data = stacks[env]["data"]["aws_availability_zones"]
    (zone_filter,) = next(iter(data.values()))["filter"]
    region = load_environment(env).region
    assert zone_filter == {"name": "zone-name", "values": [f"{region}{x}" for x in "abc"]}
    assert len(resources(stacks[env], "aws_subnet")) == 2 * BRIEF["azs"]


@PER_ENV
def test_flow_logs_capture_all_traffic_into_the_log_bucket(stacks, env) -> None:
    flow_log = one(stacks[env], "aws_flow_log")
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination_type"] == "s3"
    assert flow_log["log_destination"] == ref(
        stacks[env], "aws_s3_bucket", "flow-logs/bucket/bucket", "arn"
    )
    assert flow_log["vpc_id"] == ref(stacks[env], "aws_vpc", "network/vpc", "id")


@PER_ENV
def test_flow_log_bucket_expires_after_90_days_and_uses_kms(stacks, env) -> None:
    _, lifecycle = find(
        stacks[env], "aws_s3_bucket_lifecycle_configuration", "flow-logs/bucket/lifecycle"
    )
    assert lifecycle["rule"][0]["expiration"][0]["days"] == BRIEF["flow_log_days"]
    _, encryption = find(
        stacks[env],
        "aws_s3_bucket_server_side_encryption_configuration",
        "flow-logs/bucket/encryption",
    )
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == ref(stacks[env], "aws_kms_key", "keys/telemetry", "arn")


@PER_ENV
def test_every_bucket_is_private_versioned_encrypted_tls_only_and_expiring(stacks, env) -> None:
    stack = stacks[env]
    buckets = {
        f"${{aws_s3_bucket.{logical_id}.id}}" for logical_id in resources(stack, "aws_s3_bucket")
    }
    assert len(buckets) == 2

    def by_bucket(resource_type: str) -> dict[str, dict[str, Any]]:
        return {body["bucket"]: body for body in resources(stack, resource_type).values()}

    blocks = by_bucket("aws_s3_bucket_public_access_block")
    versioning = by_bucket("aws_s3_bucket_versioning")
    encryption = by_bucket("aws_s3_bucket_server_side_encryption_configuration")
    lifecycle = by_bucket("aws_s3_bucket_lifecycle_configuration")
    policies = by_bucket("aws_s3_bucket_policy")
    for bucket in buckets:
        assert all(
            blocks[bucket][flag]
            for flag in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        ), bucket
        assert versioning[bucket]["versioning_configuration"]["status"] == "Enabled"
        assert encryption[bucket]["rule"][0]["apply_server_side_encryption_by_default"][
            "sse_algorithm"
        ]
        assert lifecycle[bucket]["rule"][0]["expiration"][0]["days"] >= 1
        statements = json.loads(policies[bucket]["policy"])["Statement"]
        deny = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- registry and service ------------------------------------------------------------------


@PER_ENV
def test_ecr_repositories_are_immutable_scanned_and_kms_encrypted(stacks, env) -> None:
    repositories = resources(stacks[env], "aws_ecr_repository").values()
    assert len(repositories) == 2  # the API's, and the X-Ray daemon's pull-through cache
    for repository in repositories:
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"]["scan_on_push"] is True
        assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
    _, api = find(stacks[env], "aws_ecr_repository", "registry/api")
    assert api["name"] == f"fraud-api-{env}"


@PER_ENV
def test_task_runs_the_release_digest_from_its_own_repository(stacks, env) -> None:
    api = container(stacks[env], "api")
    repository_url = ref(stacks[env], "aws_ecr_repository", "registry/api", "repository_url")
    assert api["image"] == f"{repository_url}@{load_environment(env).release.image_digest}"


@PER_ENV
def test_api_container_is_hardened_and_health_checked(stacks, env) -> None:
    api = container(stacks[env], "api")
    assert api["readonlyRootFilesystem"] is True
    assert api["user"] not in ("0", "root") and api["user"].isdigit()
    assert api["privileged"] is False
    assert "/health" in " ".join(api["healthCheck"]["command"])
    assert api["logConfiguration"]["logDriver"] == "awslogs"
    environment = {item["name"]: item["value"] for item in api["environment"]}
    assert environment["DB_SECRET_ARN"].startswith("${aws_rds_cluster.")
    assert not any("PASSWORD" in name for name in environment)


@PER_ENV
def test_xray_daemon_sidecar(stacks, env) -> None:
    xray = container(stacks[env], "xray-daemon")
    assert xray["portMappings"] == [{"containerPort": 2000, "protocol": "udp"}]
    assert xray["readonlyRootFilesystem"] is True
    # ECR Public's image, pulled through this registry's cache: same path and tag
    upstream = load_environment(env).service.xray_daemon_image.removeprefix("public.ecr.aws/")
    cache = ref(stacks[env], "aws_ecr_repository", "registry/sidecar", "repository_url")
    assert xray["image"] == f"{cache}{upstream[upstream.index(':') :]}"


@PER_ENV
def test_ecs_log_group_is_named_kept_30_days_and_encrypted(stacks, env) -> None:
    _, group = find(stacks[env], "aws_cloudwatch_log_group", "service/logs")
    assert group["name"] == f"/ecs/fraud-api-{env}"
    assert group["retention_in_days"] == BRIEF["log_days"]
    assert group["kms_key_id"] == ref(stacks[env], "aws_kms_key", "keys/telemetry", "arn")


@PER_ENV
def test_every_log_group_is_encrypted_and_kept(stacks, env) -> None:
    groups = resources(stacks[env], "aws_cloudwatch_log_group").values()
    assert len(groups) == 4  # ECS, API access logs, and one per web ACL (API stage, ALB)
    for group in groups:
        assert group["kms_key_id"].startswith("${aws_kms_key.")
        assert group["retention_in_days"] == BRIEF["log_days"]


@PER_ENV
def test_fargate_service_private_starting_behind_blue(stacks, env) -> None:
    stack = stacks[env]
    service = one(stack, "aws_ecs_service")
    assert service["launch_type"] == "FARGATE"
    network = service["network_configuration"]
    assert network["assign_public_ip"] is False
    private = {ref(stack, "aws_subnet", f"network/private-{i}", "id") for i in range(3)}
    assert set(network["subnets"]) == private
    # CodeDeploy rolls a bad release back (tests/synth/test_blue_green.py), not the breaker.
    blue = ref(stack, "aws_lb_target_group", "load-balancer/tg-blue", "arn")
    assert service["load_balancer"][0]["target_group_arn"] == blue
    assert service["desired_count"] == BRIEF["min_tasks"]


@PER_ENV
def test_container_insights_on(stacks, env) -> None:
    cluster = one(stacks[env], "aws_ecs_cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster["setting"]
    assert cluster["name"] == f"fraud-cluster-{env}"


@PER_ENV
def test_autoscaling_2_to_10_on_cpu_70(stacks, env) -> None:
    target = one(stacks[env], "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (
        BRIEF["min_tasks"],
        BRIEF["max_tasks"],
    )
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    policy = one(stacks[env], "aws_appautoscaling_policy")
    tracking = policy["target_tracking_scaling_policy_configuration"]
    assert tracking["target_value"] == BRIEF["cpu_target"]
    spec = tracking["predefined_metric_specification"]
    assert spec["predefined_metric_type"] == "ECSServiceAverageCPUUtilization"


# --- load balancer -------------------------------------------------------------------------


@PER_ENV
def test_alb_public_drops_invalid_headers_and_logs_access(stacks, env) -> None:
    alb = one(stacks[env], "aws_lb")
    assert alb["internal"] is False and alb["load_balancer_type"] == "application"
    assert alb["drop_invalid_header_fields"] is True
    assert alb["access_logs"]["enabled"] is True
    public = {ref(stacks[env], "aws_subnet", f"network/public-{i}", "id") for i in range(3)}
    assert set(alb["subnets"]) == public
    assert alb["enable_deletion_protection"] is (env == "prod")


@PER_ENV
def test_alb_waits_for_the_policy_that_lets_it_write_its_access_logs(stacks, env) -> None:
    """AWS checks at creation that the load balancer may write to its log bucket."""
    alb = one(stacks[env], "aws_lb")
    (policy_id,) = [
        logical_id
        for logical_id, body in resources(stacks[env], "aws_s3_bucket_policy").items()
        if "access-logs" in body["//"]["metadata"]["path"]
    ]
    assert f"aws_s3_bucket_policy.{policy_id}" in alb.get("depends_on", [])


@PER_ENV
def test_blue_active_green_standby_target_groups(stacks, env) -> None:
    groups = {body["name"]: body for body in resources(stacks[env], "aws_lb_target_group").values()}
    assert set(groups) == {f"fraud-tg-blue-{env}", f"fraud-tg-green-{env}"}
    assert groups[f"fraud-tg-blue-{env}"]["tags"]["Role"] == "active"
    assert groups[f"fraud-tg-green-{env}"]["tags"]["Role"] == "standby"
    for group in groups.values():
        assert group["health_check"]["path"] == "/health"
        assert group["target_type"] == "ip"


@PER_ENV
def test_https_listener_tls12_plus_forwards_to_blue(stacks, env) -> None:
    stack = stacks[env]
    _, https = find(stack, "aws_lb_listener", "load-balancer/https")
    assert https["port"] == 443 and https["protocol"] == "HTTPS"
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    _, certificate = find(stack, "data.aws_acm_certificate", "load-balancer/certificate")
    assert certificate["domain"] == load_environment(env).load_balancer.domain_name
    assert certificate["statuses"] == ["ISSUED"]
    assert https["certificate_arn"].startswith("${data.aws_acm_certificate.")
    weights = {
        tg["arn"]: tg["weight"] for tg in https["default_action"][0]["forward"]["target_group"]
    }
    assert weights == {
        ref(stack, "aws_lb_target_group", "load-balancer/tg-blue", "arn"): 100,
        ref(stack, "aws_lb_target_group", "load-balancer/tg-green", "arn"): 0,
    }


@PER_ENV
def test_http_redirects_to_https(stacks, env) -> None:
    _, http = find(stacks[env], "aws_lb_listener", "load-balancer/http-redirect")
    action = http["default_action"][0]
    assert http["port"] == 80 and action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}


# --- API Gateway ---------------------------------------------------------------------------


@PER_ENV
def test_api_routes_require_an_api_key(stacks, env) -> None:
    parts = {
        body["path_part"] for body in resources(stacks[env], "aws_api_gateway_resource").values()
    }
    assert parts == {"api", "detect", "health"}
    methods = resources(stacks[env], "aws_api_gateway_method").values()
    assert {m["http_method"] for m in methods} == {"POST", "GET"}
    assert all(m["api_key_required"] is True for m in methods)
    rest_api = one(stacks[env], "aws_api_gateway_rest_api")
    assert rest_api["api_key_source"] == "HEADER"  # pragma: allowlist secret


@PER_ENV
def test_api_forwards_to_the_load_balancer_over_https(stacks, env) -> None:
    domain = load_environment(env).load_balancer.domain_name
    uris = {i["uri"] for i in resources(stacks[env], "aws_api_gateway_integration").values()}
    assert uris == {f"https://{domain}/api/detect", f"https://{domain}/health"}


@PER_ENV
def test_usage_plan_1000_rps_burst_2000_quota_100000_per_day(stacks, env) -> None:
    plan = one(stacks[env], "aws_api_gateway_usage_plan")
    assert plan["throttle_settings"] == {
        "rate_limit": BRIEF["rate_rps"],
        "burst_limit": BRIEF["burst"],
    }
    assert plan["quota_settings"] == {"limit": BRIEF["daily_quota"], "period": "DAY"}
    key = one(stacks[env], "aws_api_gateway_usage_plan_key")
    assert key["key_type"] == "API_KEY"
    assert key["usage_plan_id"] == ref(
        stacks[env], "aws_api_gateway_usage_plan", "api/usage-plan", "id"
    )
    assert "value" not in one(stacks[env], "aws_api_gateway_api_key"), "AWS generates the key"


@PER_ENV
def test_stage_traced_logged_and_throttled(stacks, env) -> None:
    stage = one(stacks[env], "aws_api_gateway_stage")
    assert stage["xray_tracing_enabled"] is True
    assert stage["access_log_settings"]["destination_arn"].startswith("${aws_cloudwatch_log_group.")
    settings = one(stacks[env], "aws_api_gateway_method_settings")["settings"]
    assert settings["throttling_rate_limit"] == BRIEF["rate_rps"]
    assert settings["throttling_burst_limit"] == BRIEF["burst"]
    assert settings["metrics_enabled"] is True and settings["data_trace_enabled"] is False


# --- database ------------------------------------------------------------------------------


@PER_ENV
def test_aurora_serverless_v2_postgres_encrypted_with_managed_secret(stacks, env) -> None:
    stack = stacks[env]
    cluster = one(stack, "aws_rds_cluster")
    config = load_environment(env)
    assert cluster["engine"] == "aurora-postgresql" and cluster["engine_mode"] == "provisioned"
    assert cluster["engine_version"] == config.database.engine_version
    scaling = cluster["serverlessv2_scaling_configuration"]
    assert (scaling["min_capacity"], scaling["max_capacity"]) == (
        BRIEF["min_acu"],
        BRIEF["max_acu"],
    )
    data_key = ref(stack, "aws_kms_key", "keys/data", "arn")
    assert cluster["storage_encrypted"] is True and cluster["kms_key_id"] == data_key
    assert cluster["manage_master_user_password"] is True
    assert cluster["master_user_secret_kms_key_id"] == data_key
    assert "master_password" not in cluster
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["backup_retention_period"] == config.database.backup_retention_days
    assert cluster["deletion_protection"] is (env == "prod")


@PER_ENV
def test_aurora_instance_private_with_encrypted_performance_insights(stacks, env) -> None:
    instance = one(stacks[env], "aws_rds_cluster_instance")
    assert instance["instance_class"] == "db.serverless"
    assert instance["publicly_accessible"] is False
    assert instance["performance_insights_enabled"] is True
    assert instance["performance_insights_kms_key_id"] == ref(
        stacks[env], "aws_kms_key", "keys/data", "arn"
    )
    subnets = one(stacks[env], "aws_db_subnet_group")["subnet_ids"]
    assert set(subnets) == {
        ref(stacks[env], "aws_subnet", f"network/private-{i}", "id") for i in range(3)
    }


@PER_ENV
def test_enhanced_monitoring_role_trusts_rds_only_for_this_account(stacks, env) -> None:
    """The confused-deputy condition AWS documents for the monitoring role's trust."""
    _, role = find(stacks[env], "aws_iam_role", "database/monitoring-role")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    account = load_environment(env).account_id
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


@PER_ENV
def test_secret_rotation(stacks, env) -> None:
    rotation = one(stacks[env], "aws_secretsmanager_secret_rotation")
    days = load_environment(env).database.secret_rotation_days
    assert rotation["rotation_rules"]["automatically_after_days"] == days
    assert (
        rotation["secret_id"].startswith("${aws_rds_cluster.")
        and "master_user_secret" in rotation["secret_id"]
    )


@PER_ENV
def test_database_reachable_only_from_the_tasks_on_5432(stacks, env) -> None:
    stack = stacks[env]
    db_group = ref(stack, "aws_security_group", "security-groups/db", "id")
    tasks_group = ref(stack, "aws_security_group", "security-groups/tasks", "id")
    ingress = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
               if r["security_group_id"] == db_group]  # fmt: skip
    assert len(ingress) == 1
    assert ingress[0]["referenced_security_group_id"] == tasks_group
    assert (ingress[0]["from_port"], ingress[0]["to_port"]) == (5432, 5432)
    assert "cidr_ipv4" not in ingress[0]


@PER_ENV
def test_only_the_load_balancer_is_open_to_the_internet(stacks, env) -> None:
    alb_group = ref(stacks[env], "aws_security_group", "security-groups/alb", "id")
    public = [
        rule
        for rule in resources(stacks[env], "aws_vpc_security_group_ingress_rule").values()
        if rule.get("cidr_ipv4") == "0.0.0.0/0" or rule.get("cidr_ipv6") == "::/0"
    ]
    assert public, "the load balancer must be reachable: no public ingress rule was found"
    for rule in public:
        assert rule["security_group_id"] == alb_group, rule
        assert (rule["from_port"], rule["to_port"]) in ((80, 80), (443, 443)), rule
    for body in resources(stacks[env], "aws_security_group").values():
        for inline in body.get("ingress", []):  # inline rules would escape the loop above
            assert "0.0.0.0/0" not in (inline.get("cidr_blocks") or []), body
            assert "::/0" not in (inline.get("ipv6_cidr_blocks") or []), body


# --- WAF -----------------------------------------------------------------------------------


@PER_ENV
@pytest.mark.parametrize("acl_path", ["waf/acl", "alb-waf/acl"])
def test_waf_rate_limit_geo_block_and_managed_rules(stacks, env, acl_path) -> None:
    _, acl = find(stacks[env], "aws_wafv2_web_acl", acl_path)
    config = load_environment(env)
    rules = {rule["name"]: rule for rule in acl["rule"]}
    rate = rules["rate-limit-per-ip"]["statement"]["rate_based_statement"]
    assert rate == {"limit": config.waf.rate_limit_per_5_minutes, "aggregate_key_type": "IP"}
    geo = rules["geo-block"]["statement"]["geo_match_statement"]["country_codes"]
    assert geo == list(config.waf.blocked_countries)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                  "AWSManagedRulesSQLiRuleSet"):  # fmt: skip
        assert rules[group]["statement"]["managed_rule_group_statement"]["vendor_name"] == "AWS"
    assert sorted(rule["priority"] for rule in acl["rule"]) == list(range(len(acl["rule"])))


@PER_ENV
def test_waf_protects_alb_and_api_stage_each_with_its_own_acl_and_logs_without_keys(
    stacks, env
) -> None:
    stack = stacks[env]
    protected = {
        a["resource_arn"]: a["web_acl_arn"]
        for a in resources(stack, "aws_wafv2_web_acl_association").values()
    }
    assert protected == {
        ref(stack, "aws_lb", "load-balancer/alb", "arn"): ref(
            stack, "aws_wafv2_web_acl", "alb-waf/acl", "arn"
        ),
        ref(stack, "aws_api_gateway_stage", "api/stage", "arn"): ref(
            stack, "aws_wafv2_web_acl", "waf/acl", "arn"
        ),
    }
    loggings = resources(stack, "aws_wafv2_web_acl_logging_configuration").values()
    assert len(loggings) == 2
    for logging in loggings:
        redacted = {field["single_header"]["name"] for field in logging["redacted_fields"]}
        assert {"x-api-key", "authorization", "x-origin-verify"} <= redacted


# --- monitoring and tracing ----------------------------------------------------------------


@PER_ENV
def test_alarms_thresholds_from_the_brief_go_to_the_topic(stacks, env) -> None:
    stack = stacks[env]
    alarms = {
        a.get("metric_name", a["alarm_name"]): a
        for a in resources(stack, "aws_cloudwatch_metric_alarm").values()
    }
    assert alarms["Latency"]["threshold"] == BRIEF["latency_ms"]
    assert alarms["Latency"]["comparison_operator"] == "GreaterThanThreshold"
    healthy = alarms[f"fraud-healthy-tasks-{env}"]
    assert healthy["threshold"] == BRIEF["healthy_tasks"]
    assert healthy["comparison_operator"] == "LessThanThreshold"
    assert alarms["DatabaseConnections"]["threshold"] == BRIEF["db_connections"]
    assert alarms["DatabaseConnections"]["comparison_operator"] == "GreaterThanThreshold"
    topic = ref(stack, "aws_sns_topic", "monitoring/alarms", "arn")
    assert all(a["alarm_actions"] == [topic] for a in alarms.values())


@PER_ENV
def test_alarm_topic_is_kms_encrypted(stacks, env) -> None:
    topic = one(stacks[env], "aws_sns_topic")
    assert topic["kms_master_key_id"] == ref(stacks[env], "aws_kms_key", "keys/telemetry", "arn")


@PER_ENV
def test_only_the_stacks_own_alarms_may_publish_to_the_topic(stacks, env) -> None:
    """SNS's default policy lets every principal of the account publish, subscribe and change
    the topic's permissions; the stack's policy names CloudWatch, for its own alarms only."""
    stack = stacks[env]
    policy = one(stack, "aws_sns_topic_policy")
    topic = ref(stack, "aws_sns_topic", "monitoring/alarms", "arn")
    assert policy["arn"] == topic
    (statement,) = json.loads(policy["policy"])["Statement"]
    alarms = [
        f"${{aws_cloudwatch_metric_alarm.{key}.arn}}"
        for key, alarm in resources(stack, "aws_cloudwatch_metric_alarm").items()
        if topic in alarm.get("alarm_actions", [])
    ]
    assert len(alarms) == 4
    condition = statement.pop("Condition")
    assert list(condition) == ["ArnLike"] and list(condition["ArnLike"]) == ["aws:SourceArn"]
    assert sorted(condition["ArnLike"]["aws:SourceArn"]) == sorted(alarms)
    assert statement == {
        "Sid": "OnlyThisEnvironmentsAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
    }


@PER_ENV
def test_dashboard_shows_latency_errors_db_and_ecs(stacks, env) -> None:
    body = json.loads(one(stacks[env], "aws_cloudwatch_dashboard")["dashboard_body"])
    metrics = {m[1] for widget in body["widgets"] for m in widget["properties"]["metrics"]}
    assert {"Latency", "4XXError", "5XXError", "DatabaseConnections", "CPUUtilization",
            "MemoryUtilization"} <= metrics  # fmt: skip


@PER_ENV
def test_xray_sampling_rule(stacks, env) -> None:
    rule = one(stacks[env], "aws_xray_sampling_rule")
    assert rule["fixed_rate"] == load_environment(env).service.trace_sampling_rate
    assert rule["rule_name"] == f"fraud-api-{env}"


# --- IAM -----------------------------------------------------------------------------------


def policy_statements(stack: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for resource_type in ("aws_iam_role_policy", "aws_iam_policy"):
        for logical_id, body in resources(stack, resource_type).items():
            found += [(logical_id, s) for s in json.loads(body["policy"])["Statement"]]
    return found


@PER_ENV
def test_iam_no_wildcard_actions_and_wildcard_resources_only_where_aws_requires(
    stacks, env
) -> None:
    from infra.task_roles import RESOURCE_WILDCARD_REASON  # jsii: only where a test needs it

    statements = policy_statements(stacks[env])
    assert statements
    for logical_id, statement in statements:
        actions = as_list(statement.get("Action")) + as_list(statement.get("NotAction"))
        wildcards = [action for action in actions if "*" in action]  # "*", "s3:*", "s3:Get*"
        assert not wildcards, (logical_id, statement)
        if "*" in as_list(statement.get("Resource")):  # "*" and ["*"] alike
            assert set(actions) <= set(RESOURCE_WILDCARD_REASON), (logical_id, statement)


def as_list(value: str | list[str] | None) -> list[str]:
    """IAM takes one string or a list wherever it takes several."""
    return [] if value is None else [value] if isinstance(value, str) else list(value)


@PER_ENV
def test_task_role_reads_only_its_secret_and_writes_only_its_log_group(stacks, env) -> None:
    stack = stacks[env]
    _, policy = find(stack, "aws_iam_role_policy", "service/roles/task-policy")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    secret = statements["ReadDatabaseSecret"]["Resource"]
    assert len(secret) == 1 and "master_user_secret" in secret[0]
    log_group = ref(stack, "aws_cloudwatch_log_group", "service/logs", "arn")
    assert statements["WriteOwnLogGroup"]["Resource"] == [f"{log_group}:log-stream:*"]
    assert "xray:PutTraceSegments" in statements["SendTraces"]["Action"]


@PER_ENV
def test_task_and_execution_roles_differ(stacks, env) -> None:
    task = one(stacks[env], "aws_ecs_task_definition")
    assert task["task_role_arn"] != task["execution_role_arn"]


# --- outputs, names, environments ----------------------------------------------------------


@PER_ENV
def test_the_six_outputs_are_described(stacks, env) -> None:
    outputs = stacks[env]["output"]
    assert set(outputs) == {"alb_dns_name", "api_endpoint", "dashboard_url", "vpc_id",
                            "ecs_cluster_name", "aurora_endpoint"}  # fmt: skip
    assert all(output["description"] for output in outputs.values())
    assert f"dashboards:name=fraud-api-{env}" in outputs["dashboard_url"]["value"]


NAMED = {
    "aws_lb": "name", "aws_lb_target_group": "name", "aws_ecs_cluster": "name",
    "aws_ecs_service": "name", "aws_rds_cluster": "cluster_identifier", "aws_s3_bucket": "bucket",
    "aws_sns_topic": "name", "aws_wafv2_web_acl": "name", "aws_iam_role": "name",
    "aws_security_group": "name", "aws_cloudwatch_log_group": "name",
    "aws_api_gateway_rest_api": "name", "aws_cloudwatch_metric_alarm": "alarm_name",
}  # fmt: skip


@PER_ENV
def test_every_resource_name_carries_the_environment(stacks, env) -> None:
    for resource_type, attribute in NAMED.items():
        for body in resources(stacks[env], resource_type).values():
            assert f"-{env}" in body[attribute], (resource_type, body[attribute])


def test_prod_differs_where_real_teams_differ(stacks) -> None:
    for env in ENVIRONMENTS:
        cluster = one(stacks[env], "aws_rds_cluster")
        nats = len(resources(stacks[env], "aws_nat_gateway"))
        subscriptions = resources(stacks[env], "aws_sns_topic_subscription")
        if env == "prod":
            assert (
                cluster["deletion_protection"] is True and cluster["skip_final_snapshot"] is False
            )
            assert nats == 3 and len(subscriptions) == 1
            assert cluster["backup_retention_period"] == 35
        else:
            assert cluster["deletion_protection"] is False and nats == 1 and not subscriptions


@PER_ENV
def test_kms_keys_rotate(stacks, env) -> None:
    keys = resources(stacks[env], "aws_kms_key").values()
    assert len(keys) == 2 and all(key["enable_key_rotation"] is True for key in keys)
