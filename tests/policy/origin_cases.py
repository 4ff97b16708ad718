"""CKV_FD_12 fixtures: which load balancers let a request without an origin proof through.

Kept beside test_custom_checks.py, which runs them with its other cases in one checkov run.
"""

from __future__ import annotations

from typing import Any

TAGS = {
    "Environment": "dev",
    "Service": "fraud-detection-api",
    "Owner": "fraud-platform-team",
    "CostCenter": "CC-4127",
    "DataClassification": "pci-confidential",
}
ACL = "${aws_wafv2_web_acl.acl.arn}"
SECRET = "${local.value_a}"
PREVIOUS = "${local.value_b}"
GENERATED = '${sensitive(join("", [replace(uuid(), "-", ""), replace(uuid(), "-", "")]))}'
VALUES: dict[str, dict] = {
    # as the stack writes them: Terraform generates each value, a local marks it sensitive
    "locals": {"value_a": "${sensitive(terraform_data.value_a.output)}",
               "value_b": "${sensitive(terraform_data.value_b.output)}",
               "hidden": '${sensitive("hunter2")}', "spelled_out": "hunter2",
               "from_literal_data": "${terraform_data.literal.output}"},
    "terraform_data": {"value_a": {"input": GENERATED}, "value_b": {"input": GENERATED},
                       "literal": {"input": '${sensitive("hunter2")}'}},
}  # fmt: skip


def header(value: str, constraint: str = "EXACTLY") -> dict[str, Any]:
    return {
        "byte_match_statement": {
            "field_to_match": {"single_header": {"name": "x-origin-verify"}},
            "positional_constraint": constraint,
            "search_string": value,
            "text_transformation": [{"priority": 0, "type": "NONE"}],
        }
    }


def allow(name: str, statement: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "priority": 0, "action": {"allow": {}}, "statement": statement}


OPERATORS = allow("ops", {"ip_set_reference_statement": {"arn": "${aws_wafv2_ip_set.ops.arn}"}})
ORIGIN = allow("origin", {"or_statement": {"statement": [header(SECRET), header(PREVIOUS)]}})
BLOCK_GEO = {"name": "geo", "priority": 1, "action": {"block": {}},
             "statement": {"geo_match_statement": {"country_codes": ["KP"]}}}  # fmt: skip


def group(statement: dict[str, Any], override: str = "none") -> dict[str, Any]:
    return {"name": "group", "priority": 2, "override_action": {override: {}},
            "statement": statement}  # fmt: skip


CUSTOM_GROUP = {"rule_group_reference_statement": {"arn": "${aws_wafv2_rule_group.g.arn}"}}
AWS_GROUP = {"managed_rule_group_statement": {"name": "AWSManagedRulesCommonRuleSet",
                                              "vendor_name": "AWS"}}  # fmt: skip
VENDOR_GROUP = {"managed_rule_group_statement": {"name": "BotRules", "vendor_name": "Acme"}}


def guarded_alb(
    *rules: dict[str, Any], default: str = "block", addresses: tuple[str, ...] = ("203.0.113.0/24",)
) -> dict[str, dict]:
    return {
        **VALUES,
        "aws_lb": {"alb": {"internal": False, "load_balancer_type": "application"}},
        "aws_wafv2_ip_set": {"ops": {"name": "ops", "scope": "REGIONAL",
                                     "ip_address_version": "IPV4", "addresses": list(addresses)}},
        "aws_wafv2_web_acl": {"acl": {"name": "acl", "scope": "REGIONAL",
                                      "default_action": {default: {}}, "rule": list(rules)}},
        "aws_wafv2_web_acl_association": {
            "assoc": {"resource_arn": "${aws_lb.alb.arn}", "web_acl_arn": ACL}
        },
    }  # fmt: skip


def alb_with_listener(**arguments: Any) -> dict[str, dict]:
    return {
        "aws_lb": {"alb": {"internal": False}},
        "aws_lb_listener": {"https": {
            "load_balancer_arn": "${aws_lb.alb.arn}", "port": 443, "protocol": "HTTPS",
            "default_action": [{"type": "forward", "target_group_arn": "arn:tg"}], **arguments}},
    }  # fmt: skip


SUBJECT = "aws_lb.alb"
ORIGIN_CASES: list[tuple[str, str, str, str | None, dict[str, dict], dict[str, str] | None]] = [
    ("origin-header-or-operators", "CKV_FD_12", SUBJECT, "passed",
     guarded_alb(ORIGIN, BLOCK_GEO, OPERATORS), TAGS),
    ("origin-header-no-operators", "CKV_FD_12", SUBJECT, "passed",
     guarded_alb(ORIGIN, OPERATORS, addresses=()), TAGS),
    ("origin-acl-allows-by-default", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(ORIGIN, default="allow"), TAGS),
    ("origin-literal-secret-in-code", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", header("hunter2"))), TAGS),
    ("origin-literal-in-an-expression", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", header('${sensitive("hunter2")}'))), TAGS),
    ("origin-literal-in-a-template", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", header("hunter2${local.value_a}"))), TAGS),
    ("origin-literal-behind-locals", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", {"or_statement": {"statement": [
         header("${local.hidden}"), header("${local.spelled_out}")]}})), TAGS),
    ("origin-literal-in-terraform-data", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", header("${local.from_literal_data}"))), TAGS),
    ("origin-read-from-a-data-source", "CKV_FD_12", SUBJECT, "passed",
     guarded_alb(allow("origin", header(
         "${data.aws_secretsmanager_secret_version.current.secret_string}"))), TAGS),
    ("origin-header-prefix-only", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", header(SECRET, "STARTS_WITH"))), TAGS),
    ("origin-or-with-a-geo-branch", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(allow("origin", {"or_statement": {"statement": [
         header(SECRET), {"geo_match_statement": {"country_codes": ["US"]}}]}})), TAGS),
    ("origin-operators-everyone", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(ORIGIN, OPERATORS, addresses=("0.0.0.0/0",)), TAGS),
    ("origin-no-waf-plain-listener", "CKV_FD_12", SUBJECT, "failed", alb_with_listener(), TAGS),
    ("origin-mtls-verify", "CKV_FD_12", SUBJECT, "passed",
     alb_with_listener(mutual_authentication={"mode": "verify", "trust_store_arn": "arn:ts"}),
     TAGS),
    ("origin-mtls-passthrough", "CKV_FD_12", SUBJECT, "failed",
     alb_with_listener(mutual_authentication={"mode": "passthrough"}), TAGS),
    ("origin-aws-managed-group", "CKV_FD_12", SUBJECT, "passed",
     guarded_alb(ORIGIN, group(AWS_GROUP)), TAGS),
    ("origin-custom-group-may-allow", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(ORIGIN, group(CUSTOM_GROUP)), TAGS),
    ("origin-custom-group-counted", "CKV_FD_12", SUBJECT, "passed",
     guarded_alb(ORIGIN, group(CUSTOM_GROUP, override="count")), TAGS),
    ("origin-vendor-group-may-allow", "CKV_FD_12", SUBJECT, "failed",
     guarded_alb(ORIGIN, group(VENDOR_GROUP)), TAGS),
    ("origin-internal-lb", "CKV_FD_12", SUBJECT, None,
     {"aws_lb": {"alb": {"internal": True}}}, TAGS),
]  # fmt: skip
