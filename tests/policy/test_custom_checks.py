"""The custom checks (policies/checks/) through real checkov, and the PCI DSS map beside them.

Every fixture is a minimal stack of its own (a provider with default tags and a few resources),
written once into a temporary folder; one checkov run scans them all. Each case names the check,
the resource it is about and the status expected (None: the check does not apply, no record).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitops.policy import gate as policy

from infra.environments import environment_names
from tests.policy.origin_cases import ORIGIN_CASES

ENVIRONMENTS = environment_names()

CHECKS_DIR = policy.CUSTOM_CHECKS_DIR
TAGS = {
    "Environment": "dev",
    "Service": "fraud-detection-api",
    "Owner": "fraud-platform-team",
    "CostCenter": "CC-4127",
    "DataClassification": "pci-confidential",
}
PROD_TAGS = {**TAGS, "Environment": "prod"}
BOUNDARY = "arn:aws:iam::123456789012:policy/fraud-boundary-dev"


def r(resource_type: str, name: str, attribute: str = "id") -> str:
    return f"${{{resource_type}.{name}.{attribute}}}"


def policy_json(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str], resources: Any, effect: str = "Allow") -> dict[str, Any]:
    return {"Sid": "S", "Effect": effect, "Action": actions, "Resource": resources}


def containers(**overrides: Any) -> str:
    base = {"name": "api", "image": "x@sha256:0", "user": "10001", "readonlyRootFilesystem": True}
    return json.dumps([{**base, **overrides}])


def bucket_stack(*, tls_only: bool = True, lifecycle: bool = True) -> dict[str, dict]:
    b = "aws_s3_bucket"
    deny = {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"},
        "Action": ["s3:*"], "Resource": [r(b, "logs", "arn"), r(b, "logs", "arn") + "/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }  # fmt: skip
    writer = allow(["s3:PutObject"], [r(b, "logs", "arn") + "/*"])
    resources: dict[str, dict] = {
        b: {"logs": {"bucket": "fraud-logs-dev"}},
        "aws_s3_bucket_public_access_block": {
            "pab": {
                "bucket": r(b, "logs"),
                **dict.fromkeys(
                    (
                        "block_public_acls",
                        "block_public_policy",
                        "ignore_public_acls",
                        "restrict_public_buckets",
                    ),
                    True,
                ),
            }
        },
        "aws_s3_bucket_server_side_encryption_configuration": {
            "sse": {
                "bucket": r(b, "logs"),
                "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            }
        },
        "aws_s3_bucket_policy": {
            "policy": {
                "bucket": r(b, "logs"),
                "policy": policy_json(writer, deny) if tls_only else policy_json(writer),
            }
        },
    }
    if lifecycle:
        resources["aws_s3_bucket_lifecycle_configuration"] = {
            "lc": {
                "bucket": r(b, "logs"),
                "rule": [{"id": "expire", "status": "Enabled", "expiration": [{"days": 90}]}],
            }
        }
    return resources


def database_stack(rule: dict[str, Any]) -> dict[str, dict]:
    sg = "aws_security_group"
    return {
        sg: {"db": {"name": "db", "description": "db"}, "tasks": {"name": "t", "description": "t"}},
        "aws_rds_cluster": {
            "cluster": {"engine": "aurora-postgresql", "vpc_security_group_ids": [r(sg, "db")]}
        },
        "aws_vpc_security_group_ingress_rule": {
            "db-in": {
                "security_group_id": r(sg, "db"),
                "ip_protocol": "tcp",
                "from_port": 5432,
                "to_port": 5432,
                **rule,
            }
        },
    }


def listener(protocol: str, **arguments: Any) -> dict[str, dict]:
    port = 443 if protocol == "HTTPS" else 80
    body = {"load_balancer_arn": "arn", "protocol": protocol, "port": port, **arguments}
    return {"aws_lb_listener": {"l": body}}


FORWARD = [{"type": "forward", "target_group_arn": "arn:tg"}]
REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                              "status_code": "HTTP_301"}}]  # fmt: skip
WAF = {
    "aws_wafv2_web_acl": {"acl": {"name": "acl", "scope": "REGIONAL"}},
}


def waf_association(resource_type: str, name: str) -> dict[str, dict]:
    return {
        **WAF,
        "aws_wafv2_web_acl_association": {
            "assoc": {
                "resource_arn": r(resource_type, name, "arn"),
                "web_acl_arn": r("aws_wafv2_web_acl", "acl", "arn"),
            }
        },
    }


def stage() -> dict[str, dict]:
    return {
        "aws_api_gateway_rest_api": {"api": {"name": "api"}},
        "aws_api_gateway_stage": {
            "stage": {
                "rest_api_id": r("aws_api_gateway_rest_api", "api"),
                "stage_name": "v1",
                "deployment_id": "d",
            }
        },
    }


GROUP, CONFIG = "aws_codedeploy_deployment_group", "aws_codedeploy_deployment_config"


def deployment_group(
    *,
    config: str | None = "CodeDeployDefault.ECSAllAtOnce",
    events: tuple[str, ...] = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"),
    alarms: list[str] | None = None,
) -> dict[str, dict]:
    """A blue/green deployment group and two configurations it may name (canary, all at once)."""
    group: dict[str, Any] = {
        "app_name": "fraud-api",
        "deployment_group_name": "fraud-api",
        "service_role_arn": "arn:aws:iam::123456789012:role/cd",
        "auto_rollback_configuration": {"enabled": True, "events": list(events)},
        "alarm_configuration": {
            "enabled": True,
            "alarms": ["fraud-api-latency"] if alarms is None else alarms,
        },
    }
    if config is not None:
        group["deployment_config_name"] = config
    routing = {
        "canary": {"type": "TimeBasedCanary",
                   "time_based_canary": {"interval": 5, "percentage": 10}},
        "all": {"type": "AllAtOnce"},
    }  # fmt: skip
    return {
        GROUP: {"g": group},
        CONFIG: {
            key: {
                "deployment_config_name": key,
                "compute_platform": "ECS",
                "traffic_routing_config": body,
            }
            for key, body in routing.items()
        },
    }


SG_RULE = "aws_vpc_security_group_ingress_rule"
# (case, check, subject resource, expected status, resources, provider default tags)
CASES: list[tuple[str, str, str, str | None, dict[str, dict], dict[str, str] | None]] = [
    ("tags-from-provider", "CKV_FD_1", "aws_s3_bucket.b", "passed",
     {"aws_s3_bucket": {"b": {"bucket": "b"}}}, TAGS),
    ("tags-own-cover-all", "CKV_FD_1", "aws_s3_bucket.b", "passed",
     {"aws_s3_bucket": {"b": {"bucket": "b", "tags": TAGS}}}, None),
    ("tags-provider-missing-key", "CKV_FD_1", "aws_s3_bucket.b", "failed",
     {"aws_s3_bucket": {"b": {"bucket": "b", "tags": {"Name": "b"}}}},
     {k: v for k, v in TAGS.items() if k != "CostCenter"}),
    ("tags-empty-value", "CKV_FD_1", "aws_s3_bucket.b", "failed",
     {"aws_s3_bucket": {"b": {"bucket": "b", "tags": {"Owner": ""}}}}, TAGS),
    ("tags-aliased-provider-untagged", "CKV_FD_1", "aws_s3_bucket.b", "failed",
     {"aws_s3_bucket": {"b": {"bucket": "b", "provider": "aws.replica"}}}, TAGS),
    ("logs-ok", "CKV_FD_2", "aws_cloudwatch_log_group.lg", "passed",
     {"aws_cloudwatch_log_group": {"lg": {"retention_in_days": 30, "kms_key_id": "arn:k"}}}, TAGS),
    ("logs-short", "CKV_FD_2", "aws_cloudwatch_log_group.lg", "failed",
     {"aws_cloudwatch_log_group": {"lg": {"retention_in_days": 7, "kms_key_id": "arn:k"}}}, TAGS),
    ("logs-no-kms", "CKV_FD_2", "aws_cloudwatch_log_group.lg", "failed",
     {"aws_cloudwatch_log_group": {"lg": {"retention_in_days": 90}}}, TAGS),
    ("ingress-443-anywhere", "CKV_FD_3", f"{SG_RULE}.rule", "passed",
     {SG_RULE: {"rule": {"security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443,
                         "to_port": 443, "cidr_ipv4": "0.0.0.0/0"}}}, TAGS),
    ("ingress-22-anywhere", "CKV_FD_3", f"{SG_RULE}.rule", "failed",
     {SG_RULE: {"rule": {"security_group_id": "sg", "ip_protocol": "tcp", "from_port": 22,
                         "to_port": 22, "cidr_ipv4": "0.0.0.0/0"}}}, TAGS),
    ("ingress-inline-ipv6-range", "CKV_FD_3", "aws_security_group.sg", "failed",
     {"aws_security_group": {"sg": {"description": "x", "ingress": [
         {"from_port": 0, "to_port": 65535, "protocol": "tcp", "ipv6_cidr_blocks": ["::/0"],
          "cidr_blocks": [], "description": "all"}]}}}, TAGS),
    ("ingress-rule-all-protocols", "CKV_FD_3", "aws_security_group_rule.rule", "failed",
     {"aws_security_group_rule": {"rule": {"type": "ingress", "security_group_id": "sg",
                                           "protocol": "-1", "from_port": 0, "to_port": 0,
                                           "cidr_blocks": ["0.0.0.0/0"]}}}, TAGS),
    ("ingress-rule-internal-ssh", "CKV_FD_3", "aws_security_group_rule.rule", "passed",
     {"aws_security_group_rule": {"rule": {"type": "ingress", "security_group_id": "sg",
                                           "protocol": "tcp", "from_port": 22, "to_port": 22,
                                           "cidr_blocks": ["10.0.0.0/8"]}}}, TAGS),
    ("egress-443-anywhere", "CKV_FD_15", "aws_vpc_security_group_egress_rule.rule", "failed",
     {"aws_vpc_security_group_egress_rule": {"rule": {
         "security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443, "to_port": 443,
         "cidr_ipv4": "0.0.0.0/0"}}}, TAGS),
    ("egress-to-a-prefix-list", "CKV_FD_15", "aws_vpc_security_group_egress_rule.rule", "passed",
     {"aws_vpc_security_group_egress_rule": {"rule": {
         "security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443, "to_port": 443,
         "prefix_list_id": "pl-63a5400a"}}}, TAGS),
    ("egress-inline-all-ipv6", "CKV_FD_15", "aws_security_group.sg", "failed",
     {"aws_security_group": {"sg": {"description": "x", "egress": [
         {"from_port": 0, "to_port": 0, "protocol": "-1", "ipv6_cidr_blocks": ["::/0"],
          "cidr_blocks": [], "description": "all"}]}}}, TAGS),
    ("egress-rule-to-the-vpc", "CKV_FD_15", "aws_security_group_rule.rule", "passed",
     {"aws_security_group_rule": {"rule": {"type": "egress", "security_group_id": "sg",
                                           "protocol": "tcp", "from_port": 5432, "to_port": 5432,
                                           "cidr_blocks": ["10.0.0.0/16"]}}}, TAGS),
    ("egress-split-internet", "CKV_FD_15", "aws_security_group_rule.rule", "failed",
     {"aws_security_group_rule": {"rule": {"type": "egress", "security_group_id": "sg",
                                           "protocol": "tcp", "from_port": 443, "to_port": 443,
                                           "cidr_blocks": ["0.0.0.0/1", "128.0.0.0/1"]}}}, TAGS),
    ("egress-one-public-network", "CKV_FD_15", "aws_vpc_security_group_egress_rule.rule",
     "failed", {"aws_vpc_security_group_egress_rule": {"rule": {
         "security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443, "to_port": 443,
         "cidr_ipv4": "203.0.113.0/24"}}}, TAGS),
    ("egress-to-the-vpc-block", "CKV_FD_15", "aws_vpc_security_group_egress_rule.rule",
     "passed", {"aws_vpc_security_group_egress_rule": {"rule": {
         "security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443, "to_port": 443,
         "cidr_ipv4": "${aws_vpc.v.cidr_block}"}}}, TAGS),
    ("ingress-rule-is-not-egress", "CKV_FD_15", "aws_security_group_rule.rule", None,
     {"aws_security_group_rule": {"rule": {"type": "ingress", "security_group_id": "sg",
                                           "protocol": "tcp", "from_port": 443, "to_port": 443,
                                           "cidr_blocks": ["0.0.0.0/0"]}}}, TAGS),
    ("db-instance-private", "CKV_FD_4", "aws_rds_cluster_instance.w", "passed",
     {"aws_rds_cluster_instance": {"w": {"cluster_identifier": "c", "instance_class": "db.t4g",
                                         "publicly_accessible": False}}}, TAGS),
    ("db-instance-public", "CKV_FD_4", "aws_db_instance.db", "failed",
     {"aws_db_instance": {"db": {"instance_class": "db.t4g", "publicly_accessible": True}}}, TAGS),
    ("db-ingress-from-sg", "CKV_FD_4", f"{SG_RULE}.db-in", "passed",
     database_stack({"referenced_security_group_id": r("aws_security_group", "tasks")}), TAGS),
    ("db-ingress-from-cidr", "CKV_FD_4", f"{SG_RULE}.db-in", "failed",
     database_stack({"cidr_ipv4": "10.0.0.0/16"}), TAGS),
    ("non-db-ingress-not-applicable", "CKV_FD_4", f"{SG_RULE}.rule", None,
     {SG_RULE: {"rule": {"security_group_id": "sg", "ip_protocol": "tcp", "from_port": 443,
                         "to_port": 443, "cidr_ipv4": "10.0.0.0/8"}}}, TAGS),
    ("method-with-key", "CKV_FD_5", "aws_api_gateway_method.m", "passed",
     {"aws_api_gateway_method": {"m": {"http_method": "POST", "authorization": "NONE",
                                       "api_key_required": True, "rest_api_id": "a",
                                       "resource_id": "r"}}}, TAGS),
    ("method-without-key", "CKV_FD_5", "aws_api_gateway_method.m", "failed",
     {"aws_api_gateway_method": {"m": {"http_method": "GET", "authorization": "NONE",
                                       "rest_api_id": "a", "resource_id": "r"}}}, TAGS),
    ("options-method-exempt", "CKV_FD_5", "aws_api_gateway_method.m", None,
     {"aws_api_gateway_method": {"m": {"http_method": "OPTIONS", "authorization": "NONE",
                                       "rest_api_id": "a", "resource_id": "r"}}}, TAGS),
    ("prod-db-unprotected", "CKV_FD_6", "aws_rds_cluster.c", "failed",
     {"aws_rds_cluster": {"c": {"engine": "aurora-postgresql", "deletion_protection": False}}},
     PROD_TAGS),
    ("prod-db-protected", "CKV_FD_6", "aws_rds_cluster.c", "passed",
     {"aws_rds_cluster": {"c": {"engine": "aurora-postgresql", "deletion_protection": True}}},
     PROD_TAGS),
    ("dev-db-unprotected", "CKV_FD_6", "aws_rds_cluster.c", "passed",
     {"aws_rds_cluster": {"c": {"engine": "aurora-postgresql", "deletion_protection": False}}},
     TAGS),
    ("prod-tag-on-resource-lb", "CKV_FD_6", "aws_lb.alb", "failed",
     {"aws_lb": {"alb": {"internal": True, "tags": {"Environment": "prod"}}}}, TAGS),
    ("prod-region-db-unprotected", "CKV_FD_6", "aws_rds_cluster.c", "failed",
     {"aws_rds_cluster": {"c": {"engine": "aurora-postgresql", "deletion_protection": False}}},
     {**TAGS, "Environment": "prod-eu"}),
    ("products-is-not-prod", "CKV_FD_6", "aws_rds_cluster.c", "passed",
     {"aws_rds_cluster": {"c": {"engine": "aurora-postgresql", "deletion_protection": False}}},
     {**TAGS, "Environment": "products"}),
    ("https-tls12", "CKV_FD_7", "aws_lb_listener.l", "passed",
     listener("HTTPS", ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
              certificate_arn="arn:c", default_action=FORWARD), TAGS),
    ("https-old-policy", "CKV_FD_7", "aws_lb_listener.l", "failed",
     listener("HTTPS", ssl_policy="ELBSecurityPolicy-2016-08", certificate_arn="arn:c",
              default_action=FORWARD), TAGS),
    ("https-default-policy", "CKV_FD_7", "aws_lb_listener.l", "failed",
     listener("HTTPS", certificate_arn="arn:c", default_action=FORWARD), TAGS),
    ("http-redirect", "CKV_FD_7", "aws_lb_listener.l", "passed",
     listener("HTTP", default_action=REDIRECT), TAGS),
    ("http-forward", "CKV_FD_7", "aws_lb_listener.l", "failed",
     listener("HTTP", default_action=FORWARD), TAGS),
    ("http-listener-rule-forward", "CKV_FD_7", "aws_lb_listener_rule.rule", "failed",
     {**listener("HTTP", default_action=REDIRECT),
      "aws_lb_listener_rule": {"rule": {"listener_arn": r("aws_lb_listener", "l", "arn"),
                                        "action": FORWARD, "condition": [
                                            {"path_pattern": {"values": ["/*"]}}]}}}, TAGS),
    ("bucket-baseline", "CKV_FD_8", "aws_s3_bucket.logs", "passed", bucket_stack(), TAGS),
    ("bucket-not-tls-only", "CKV_FD_8", "aws_s3_bucket.logs", "failed",
     bucket_stack(tls_only=False), TAGS),
    ("bucket-no-lifecycle", "CKV_FD_8", "aws_s3_bucket.logs", "failed",
     bucket_stack(lifecycle=False), TAGS),
    ("bucket-bare", "CKV_FD_8", "aws_s3_bucket.b", "failed",
     {"aws_s3_bucket": {"b": {"bucket": "b"}}}, TAGS),
    ("service-private", "CKV_FD_9", "aws_ecs_service.s", "passed",
     {"aws_ecs_service": {"s": {"name": "s", "network_configuration": {
         "subnets": ["a"], "assign_public_ip": False}}}}, TAGS),
    ("service-public-ip", "CKV_FD_9", "aws_ecs_service.s", "failed",
     {"aws_ecs_service": {"s": {"name": "s", "network_configuration": {
         "subnets": ["a"], "assign_public_ip": True}}}}, TAGS),
    ("task-hardened", "CKV_FD_9", "aws_ecs_task_definition.t", "passed",
     {"aws_ecs_task_definition": {"t": {"family": "t", "container_definitions": containers()}}},
     TAGS),
    ("task-root-user", "CKV_FD_9", "aws_ecs_task_definition.t", "failed",
     {"aws_ecs_task_definition": {"t": {"family": "t",
                                        "container_definitions": containers(user="0:0")}}}, TAGS),
    ("task-writable-root", "CKV_FD_9", "aws_ecs_task_definition.t", "failed",
     {"aws_ecs_task_definition": {"t": {"family": "t", "container_definitions": containers(
         readonlyRootFilesystem=False)}}}, TAGS),
    ("iam-scoped", "CKV_FD_10", "aws_iam_role_policy.p", "passed",
     {"aws_iam_role_policy": {"p": {"role": "r", "policy": policy_json(
         allow(["s3:GetObject"], ["${aws_s3_bucket.b.arn}/*"]),
         allow(["xray:PutTraceSegments"], "*"),
         allow(["s3:*"], "*", effect="Deny"))}}}, TAGS),
    ("iam-service-wildcard", "CKV_FD_10", "aws_iam_role_policy.p", "failed",
     {"aws_iam_role_policy": {"p": {"role": "r", "policy": policy_json(
         allow(["s3:*"], ["arn:aws:s3:::b/*"]))}}}, TAGS),
    ("iam-resource-wildcard", "CKV_FD_10", "aws_iam_policy.p", "failed",
     {"aws_iam_policy": {"p": {"name": "p", "policy": policy_json(
         allow(["s3:GetObject"], "*"))}}}, TAGS),
    ("iam-star-action", "CKV_FD_10", "aws_iam_policy.p", "failed",
     {"aws_iam_policy": {"p": {"name": "p", "policy": policy_json(
         allow(["*"], ["arn:aws:s3:::b"]))}}}, TAGS),
    ("role-with-boundary", "CKV_FD_14", "aws_iam_role.r", "passed",
     {"aws_iam_role": {"r": {"name": "fraud-api-task-dev", "assume_role_policy": "{}",
                             "permissions_boundary": BOUNDARY}}}, TAGS),
    ("role-without-boundary", "CKV_FD_14", "aws_iam_role.r", "failed",
     {"aws_iam_role": {"r": {"name": "fraud-api-task-dev", "assume_role_policy": "{}"}}}, TAGS),
    ("role-with-another-boundary", "CKV_FD_14", "aws_iam_role.r", "failed",
     {"aws_iam_role": {"r": {"name": "fraud-api-task-dev", "assume_role_policy": "{}",
                             "permissions_boundary": BOUNDARY.replace("fraud-", "open-")}}},
     TAGS),
    ("lb-with-waf", "CKV_FD_11", "aws_lb.alb", "passed",
     {"aws_lb": {"alb": {"internal": False}}, **waf_association("aws_lb", "alb")}, TAGS),
    ("lb-without-waf", "CKV_FD_11", "aws_lb.alb", "failed",
     {"aws_lb": {"alb": {"internal": False}}, **WAF}, TAGS),
    ("internal-lb-not-applicable", "CKV_FD_11", "aws_lb.alb", None,
     {"aws_lb": {"alb": {"internal": True}}}, TAGS),
    ("stage-with-waf", "CKV_FD_11", "aws_api_gateway_stage.stage", "passed",
     {**stage(), **waf_association("aws_api_gateway_stage", "stage")}, TAGS),
    ("stage-without-waf", "CKV_FD_11", "aws_api_gateway_stage.stage", "failed", stage(), TAGS),
    ("prod-canary-rollback", "CKV_FD_13", f"{GROUP}.g", "passed",
     deployment_group(config=r(CONFIG, "canary", "deployment_config_name")), PROD_TAGS),
    ("prod-predefined-canary", "CKV_FD_13", f"{GROUP}.g", "passed",
     deployment_group(config="CodeDeployDefault.ECSCanary10Percent5Minutes"), PROD_TAGS),
    ("prod-all-at-once", "CKV_FD_13", f"{GROUP}.g", "failed", deployment_group(), PROD_TAGS),
    ("prod-custom-all-at-once", "CKV_FD_13", f"{GROUP}.g", "failed",
     deployment_group(config=r(CONFIG, "all", "deployment_config_name")), PROD_TAGS),
    ("prod-no-config-name", "CKV_FD_13", f"{GROUP}.g", "failed",
     deployment_group(config=None), PROD_TAGS),
    ("prod-region-all-at-once", "CKV_FD_13", f"{GROUP}.g", "failed", deployment_group(),
     {**TAGS, "Environment": "prod-eu"}),
    ("dev-all-at-once", "CKV_FD_13", f"{GROUP}.g", "passed", deployment_group(), TAGS),
    ("dev-no-alarm-rollback", "CKV_FD_13", f"{GROUP}.g", "failed",
     deployment_group(events=["DEPLOYMENT_FAILURE"]), TAGS),
    ("dev-alarms-off", "CKV_FD_13", f"{GROUP}.g", "failed",
     deployment_group(alarms=[]), TAGS),
    *ORIGIN_CASES,
]  # fmt: skip


def fixture_stack(
    case: str, resources: dict[str, dict], default_tags: dict[str, str] | None
) -> dict[str, Any]:
    provider: dict[str, Any] = {"region": "us-east-1"}
    if default_tags is not None:
        provider["default_tags"] = [{"tags": default_tags}]
    body: dict[str, dict] = {}
    locals_ = resources.get("locals")  # a top-level block, not a resource type
    for resource_type, named in resources.items():
        if resource_type == "locals":
            continue
        body[resource_type] = {
            name: {
                "//": {
                    "metadata": {"path": f"fraud-detection-dev/{case}/{name}", "uniqueId": name}
                },
                **arguments,
            }
            for name, arguments in named.items()
        }
    return {
        "//": {"metadata": {"stackName": "fraud-detection-dev", "version": "0.21.0"}},
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
        "provider": {"aws": [provider, {"alias": "replica", "region": "eu-west-1"}]},
        "resource": body,
        **({"locals": locals_} if locals_ else {}),
    }


@pytest.fixture(scope="module")
def fixture_findings(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, policy.EnvironmentResult]:
    """One checkov run over every fixture stack; result per case name."""
    root = tmp_path_factory.mktemp("custom-check-fixtures")
    files = {}
    for case, _, _, _, resources, default_tags in CASES:
        path = root / case / "cdk.tf.json"
        path.parent.mkdir()
        path.write_text(json.dumps(fixture_stack(case, resources, default_tags), indent=2))
        files[path] = case
    return {files[result.stack_file]: result for result in policy.evaluate(list(files), skips=[])}


def custom_check_ids() -> set[str]:
    """Ids of the `check` objects the files in policies/checks define (imported like checkov)."""
    sys.path.insert(0, str(CHECKS_DIR))
    try:
        ids = set()
        for path in sorted(CHECKS_DIR.glob("fd[0-9]*.py")):
            spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            ids.add(module.check.id)
        return ids
    finally:
        sys.path.remove(str(CHECKS_DIR))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "check_id", "subject", "expected"),
    [case[:4] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_custom_check_on_fixture(
    fixture_findings: dict[str, policy.EnvironmentResult],
    case: str,
    check_id: str,
    subject: str,
    expected: str | None,
) -> None:
    result = fixture_findings[case]
    about = [f for f in result.findings if (f.check_id, f.resource) == (check_id, subject)]
    custom = [(f.check_id, f.resource, f.status) for f in result.findings if "_FD_" in f.check_id]
    assert [f.status for f in about] == ([expected] if expected else []), custom
    for finding in about:  # findings carry the construct path from the fixture's metadata
        assert finding.construct_path == f"{case}/{subject.split('.', 1)[1]}"


def test_every_custom_check_has_a_passing_and_a_failing_fixture() -> None:
    expected = {(check_id, status) for _, check_id, _, status, _, _ in CASES}
    for check_id in custom_check_ids():
        assert {(check_id, "passed"), (check_id, "failed")} <= expected, check_id


def test_custom_check_ids_are_numbered_and_unique() -> None:
    ids = custom_check_ids()
    assert all(re.fullmatch(r"CKV_FD_\d+", i) for i in ids)
    files = list(CHECKS_DIR.glob("fd[0-9]*.py"))
    assert len(ids) == len(files) >= 11


def test_iam_wildcard_allowlist_matches_the_task_roles() -> None:
    from infra.task_roles import RESOURCE_WILDCARD_REASON

    sys.path.insert(0, str(CHECKS_DIR))
    try:
        spec = importlib.util.spec_from_file_location(
            "_test_iam", CHECKS_DIR / "fd10_iam_no_wildcards.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(CHECKS_DIR))
    assert module.RESOURCE_WILDCARD_REASON == RESOURCE_WILDCARD_REASON


def test_the_pci_map_names_existing_checks() -> None:
    requirements = policy.load_pci_map()
    ids = {requirement.id for requirement in requirements}
    assert {"1.3", "1.4", "2.2", "3.5", "4.2", "7.2", "8.3", "10.2", "10.5", "11.4"} <= ids
    assert all(requirement.title and requirement.checks for requirement in requirements)
    mapped = {check for requirement in requirements for check in requirement.checks}
    custom = custom_check_ids()
    assert {c for c in mapped if c.startswith("CKV_FD_")} <= custom, "unknown custom check"
    assert custom <= mapped, f"custom checks missing from the PCI map: {custom - mapped}"

    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.provider.registry import provider_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    graph_registry = get_graph_checks_registry("terraform")
    graph_registry.load_checks()
    builtin = {
        check.id
        for registry in (resource_registry, provider_registry, data_registry)
        for checks in registry.checks.values()
        for check in checks
    }
    builtin |= {check.id for check in graph_registry.checks}
    unknown = {c for c in mapped if not c.startswith("CKV_FD_")} - builtin
    assert not unknown, f"not checkov check ids: {sorted(unknown)}"


def test_pci_coverage_is_computed_from_findings() -> None:
    requirements = [
        policy.Requirement("1.3", "network", ("CKV_FD_3", "CKV_AWS_24")),
        policy.Requirement("4.2", "transit", ("CKV_FD_7",)),
        policy.Requirement("9.9", "unrun", ("CKV_FD_99",)),
    ]

    def finding(check_id: str, status: policy.Status) -> policy.Finding:
        return policy.Finding("dev", Path("x"), check_id, "n", "aws_x.y", "y", status)

    results = [
        policy.EnvironmentResult("dev", Path("x"), [finding("CKV_FD_3", "passed"),
                                                    finding("CKV_FD_7", "failed")]),
        policy.EnvironmentResult("prod", Path("y"), [finding("CKV_AWS_24", "skipped")]),
    ]  # fmt: skip
    statuses = {s.requirement.id: s for s in policy.pci_coverage(results, requirements)}
    assert (statuses["1.3"].covered, statuses["1.3"].passing) == (True, True)
    assert (statuses["4.2"].covered, statuses["4.2"].failed_checks) == (True, ("CKV_FD_7",))
    assert statuses["9.9"].covered is False
    lines = policy.summary_lines(results, requirements)
    assert lines[-2:] == [
        "PCI DSS: 2/3 requirements covered, 1 passing (not covered: 9.9)",
        "  PCI DSS 4.2 FAILING (CKV_FD_7): transit",
    ]


@pytest.fixture(scope="module")
def real_results(synth_outdir: Path) -> list[policy.EnvironmentResult]:
    from infra.app import stack_file

    files = [stack_file(synth_outdir, f"fraud-detection-{env}") for env in ENVIRONMENTS]
    return policy.evaluate(files, policy.load_skips())


@pytest.mark.slow
def test_the_real_stacks_pass_every_custom_check(
    real_results: list[policy.EnvironmentResult],
) -> None:
    custom = custom_check_ids()
    for result in real_results:
        fd = [f for f in result.findings if f.check_id.startswith("CKV_FD_")]
        assert not [f for f in fd if f.status == "failed"], result.environment
        # a custom check is skipped only where policies/skips.yaml says why (CKV_FD_15's one)
        reviewed = {skip.check for skip in policy.load_skips()}
        assert {f.check_id for f in fd if f.status == "skipped"} <= reviewed, result.environment
        assert {f.check_id for f in fd} == custom, f"{result.environment}: a check did not run"


@pytest.mark.slow
def test_the_pci_map_is_covered_and_passing_on_the_real_stacks(
    real_results: list[policy.EnvironmentResult],
) -> None:
    requirements = policy.load_pci_map()
    ran = {f.check_id for result in real_results for f in result.findings}
    mapped = {check for requirement in requirements for check in requirement.checks}
    assert mapped <= ran, f"mapped checks that never run on these stacks: {mapped - ran}"
    statuses = policy.pci_coverage(real_results, requirements)
    assert all(s.covered and s.passing for s in statuses)
    assert policy.summary_lines(real_results)[-1] == (
        f"PCI DSS: {len(requirements)}/{len(requirements)} requirements covered, "
        f"{len(requirements)} passing"
    )


def test_the_pci_map_file_is_plain_yaml() -> None:
    document = yaml.safe_load(policy.PCI_DSS_FILE.read_text())
    assert document["standard"] == "PCI DSS v4.0"
