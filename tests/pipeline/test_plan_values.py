"""What a reviewer sees of a changed value: nothing hidden that the code says in the open,
nothing shown that it does not (plans shaped as `terraform show -json` writes them for the
load balancer's web ACL, whose rule set Terraform marks sensitive as a whole)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from gitops.errors import UsageError
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import CommentContext, render
from gitops.terraform.plan_fingerprint import fingerprint
from gitops.terraform.plan_json import resource_changes
from gitops.terraform.plan_values import (
    SENSITIVE,
    UNKNOWN,
    around_difference,
    config_literals,
    sensitive_values,
    shown_value,
)

ORIGIN = "4f1c0a9e8b7d6c5e4f3a2b1c0d9e8f7a4f1c0a9e8b7d6c5e"  # pragma: allowlist secret
IP_SET_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/operators/6e0f1fa2"


def rule(name: str, priority: int, statement: dict[str, Any]) -> dict[str, Any]:
    visibility = {"sampled_requests_enabled": True, "metric_name": name}
    return {"name": name, "priority": priority, "statement": [statement],
            "visibility_config": [visibility]}  # fmt: skip


def origin_rule(value: str | None) -> dict[str, Any]:
    return rule("allow-api-gateway-origin", 0, {"byte_match_statement": [
        {"positional_constraint": "EXACTLY", "search_string": value}]})  # fmt: skip


def rate_rule(limit: int) -> dict[str, Any]:
    return rule("rate-limit-per-ip", 4, {"rate_based_statement": [
        {"limit": limit, "aggregate_key_type": "IP", "evaluation_window_sec": 300}]})  # fmt: skip


GEO_RULE = rule("block-countries", 2, {"geo_match_statement": [{"country_codes": ["KP", "IR"]}]})
OPERATORS_RULE = rule("allow-operators", 1, {"ip_set_reference_statement": [{"arn": IP_SET_ARN}]})


def configuration(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan's `configuration` of the ACL: every literal as `constant_value`, the origin
    values and the IP set's ARN as references, as cdktf's JSON reaches Terraform."""

    def expressions(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: expressions(v, k) for k, v in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [expressions(v) for v in value]
        if key in ("search_string", "arn"):
            return {"references": [f"local.{key}"]}
        return {"constant_value": value}

    resource = {"address": "aws_wafv2_web_acl.alb", "type": "aws_wafv2_web_acl",
                "expressions": {"name": {"constant_value": "fraud-alb-waf-dev"},
                                "rule": [expressions(r) for r in rules]}}  # fmt: skip
    return {"root_module": {"resources": [resource]}}


def acl_plan(before_rules: list, after_rules: list, after_unknown: Any = None) -> dict:
    change = {
        "actions": ["update"],
        "before": {"name": "fraud-alb-waf-dev", "rule": before_rules},
        "after": {"name": "fraud-alb-waf-dev", "rule": after_rules},
        "after_unknown": {"rule": after_unknown} if after_unknown else {},
        "before_sensitive": {"rule": True},
        "after_sensitive": {"rule": True},
    }
    entry = {"address": "aws_wafv2_web_acl.alb", "type": "aws_wafv2_web_acl", "change": change}
    return {"format_version": "1.2", "resource_changes": [entry],
            "configuration": configuration(after_rules)}  # fmt: skip


def shown_rule_change(plan: dict) -> tuple[str, str]:
    (change,) = resource_changes(plan)
    (attribute,) = change.attributes
    assert attribute.name == "rule"
    return attribute.before, attribute.after


def test_a_rule_changed_beside_the_origin_secret_is_shown_and_the_secret_is_not() -> None:
    """Raising the rate limit in the ACL that holds the origin value: before, the whole rule
    set read `(sensitive) -> (sensitive)`. Now the new limit shows, the secret never does. The
    old limit stays hidden: only the new code's constants are in the plan, and 2000 is no
    longer one of them."""
    before = [origin_rule(ORIGIN), OPERATORS_RULE, GEO_RULE, rate_rule(2000)]
    after = [origin_rule(ORIGIN), OPERATORS_RULE, GEO_RULE, rate_rule(100000)]
    old, new = shown_rule_change(acl_plan(before, after))
    assert f'"limit":"{SENSITIVE}"' in old and '"limit":100000' in new, (old, new)
    text = render([EnvironmentPlan.from_plan("dev", acl_plan(before, after))], CommentContext())
    assert ORIGIN not in text and ORIGIN[:16] not in text
    assert '"limit":100000' in text


def test_inside_a_set_marked_sensitive_only_what_the_code_writes_is_shown() -> None:
    after = [origin_rule(ORIGIN), OPERATORS_RULE, GEO_RULE, rate_rule(2000)]
    plan = acl_plan([origin_rule(ORIGIN)], after)
    secrets, literals = sensitive_values(plan), config_literals(plan)
    whole = json.loads(shown_value(after, True, False, secrets, literals))
    by_name = {r["name"]: r for r in whole}
    assert by_name["allow-api-gateway-origin"]["statement"][0]["byte_match_statement"][0] == {
        "positional_constraint": "EXACTLY",
        "search_string": SENSITIVE,
    }
    assert by_name["allow-operators"]["statement"][0]["ip_set_reference_statement"][0] == {
        "arn": SENSITIVE  # computed, not written in the code: hidden like any computed value
    }
    assert by_name["block-countries"]["statement"][0]["geo_match_statement"][0] == {
        "country_codes": ["KP", "IR"]
    }
    assert by_name["rate-limit-per-ip"]["visibility_config"][0]["sampled_requests_enabled"]


def test_a_new_origin_value_reads_as_known_after_apply_inside_the_rule() -> None:
    """The rotation: the new value is drawn at apply, so the rule shows it as unknown."""
    unknown = [{"statement": [{"byte_match_statement": [{"search_string": True}]}]}, {}]
    plan = acl_plan([origin_rule(ORIGIN), rate_rule(2000)], [origin_rule(None), rate_rule(2000)],
                    after_unknown=unknown)  # fmt: skip
    old, new = shown_rule_change(plan)
    assert f'"search_string":"{SENSITIVE}"' in old
    assert f'"search_string":"{UNKNOWN}"' in new


def test_an_unknown_part_of_a_value_is_named_not_shown_as_null() -> None:
    change = {
        "actions": ["update"],
        "before": {"cidrs": ["10.0.0.0/8", "10.1.0.0/16"]},
        "after": {"cidrs": ["10.0.0.0/8", None]},
        "after_unknown": {"cidrs": [False, True]},
    }
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_security_group.tasks", "type": "aws_security_group", "change": change}
        ],
    }
    (attribute,) = resource_changes(plan)[0].attributes
    assert attribute.after == f'["10.0.0.0/8","{UNKNOWN}"]'


def test_two_changes_far_apart_in_a_long_value_are_both_shown() -> None:
    """A policy whose Sid changes and whose Resource, further on, widens to `*`."""
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/x:*"
    policy = {"Statement": [{"Sid": "ReadLogs-v1", "Effect": "Allow",
                             "Action": ["logs:GetLogEvents", "logs:FilterLogEvents"],
                             "Resource": logs}]}  # fmt: skip
    before = json.dumps(policy)
    widened = copy.deepcopy(policy)
    widened["Statement"][0] |= {"Sid": "ReadLogs-v2", "Resource": "*"}
    old, new = around_difference(before, json.dumps(widened))
    assert "ReadLogs-v1" in old and "ReadLogs-v2" in new
    assert '"Resource": "*"' in new and "log-group:/ecs/x:*" in old
    one_change = json.dumps(policy).replace("v1", "v2")
    old, new = around_difference(before, one_change)
    assert new.count("...") <= 2, "one change still reads as one window"


def test_default_tags_changed_alone_are_shown_and_repeated_tags_are_not() -> None:
    def plan_of(before: dict, after: dict, actions: list[str]) -> list[str]:
        change = {"actions": actions, "before": before, "after": after, "after_unknown": {}}
        entry = {"address": "aws_kms_key.data", "type": "aws_kms_key", "change": change}
        plan = {"format_version": "1.2", "resource_changes": [entry]}
        return [a.name for a in resource_changes(plan)[0].attributes]

    pci = {"data-classification": "pci"}
    assert plan_of({"tags": None, "tags_all": pci}, {"tags": None, "tags_all": {}}, ["update"]) == [
        "tags_all"
    ]
    own = {"owner": "fraud"}
    assert plan_of({"tags": {}, "tags_all": pci}, {"tags": own, "tags_all": pci | own},
                   ["update"]) == ["tags"]  # fmt: skip
    assert "tags_all" not in plan_of({}, {"tags": own, "tags_all": pci | own}, ["create"])


def test_an_import_id_holding_a_secret_is_masked() -> None:
    variables = {"token": {"value": "topsecret-import-id"}}
    declared = {"root_module": {"variables": {"token": {"sensitive": True}}}}
    change = {"actions": ["no-op"], "before": {}, "after": {}, "after_unknown": {},
              "importing": {"id": "topsecret-import-id"}}  # fmt: skip
    plan = {"format_version": "1.2", "variables": variables, "configuration": declared,
            "resource_changes": [{"address": "terraform_data.imported", "type": "terraform_data",
                                  "change": change}]}  # fmt: skip
    text = render([EnvironmentPlan.from_plan("dev", plan)], CommentContext())
    assert "topsecret-import-id" not in text
    assert f"import id {json.dumps(SENSITIVE)}" in text


def test_a_deposed_object_is_named_and_moves_the_fingerprint() -> None:
    live = {"address": "aws_rds_cluster.db", "type": "aws_rds_cluster",
            "change": {"actions": ["update"], "before": {"x": 1}, "after": {"x": 2},
                       "after_unknown": {}}}  # fmt: skip
    leftover = {"address": "aws_rds_cluster.db", "type": "aws_rds_cluster", "deposed": "deadbeef",
                "change": {"actions": ["delete"], "before": {"x": 0}, "after": None}}  # fmt: skip
    plan = {"format_version": "1.2", "resource_changes": [live, leftover]}
    text = render([EnvironmentPlan.from_plan("prod", plan)], CommentContext())
    assert "deposed object deadbeef, left over from a failed replacement" in text
    other = copy.deepcopy(plan)
    other["resource_changes"][1]["deposed"] = "cafef00d"
    assert fingerprint(plan) != fingerprint(other)
    without = {"format_version": "1.2", "resource_changes": [live]}
    assert fingerprint(without) == fingerprint(copy.deepcopy(without))


def test_a_shortened_comment_says_it_left_out_values_and_names() -> None:
    entries = [
        {"address": f"terraform_data.r{index:03}", "type": "terraform_data",
         "change": {"actions": ["update"], "before": {"input": "a" * 150},
                    "after": {"input": "b" * 150}, "after_unknown": {}}}
        for index in range(300)
    ]  # fmt: skip
    plan = EnvironmentPlan.from_plan("dev", {"format_version": "1.2", "resource_changes": entries})
    values_dropped = render([plan], CommentContext(limit=40000))
    assert "a" * 20 not in values_dropped, "the values were dropped to fit"
    assert "left out the changed attributes' values" in values_dropped
    names_dropped = render([plan], CommentContext(limit=11000))
    assert "    input" not in names_dropped
    assert "left out the changed attributes" in names_dropped


def test_an_action_list_the_comment_does_not_know_fails_closed() -> None:
    """A newer Terraform's create-and-forget (the old object kept): no comment and no
    fingerprint, rather than a comment that shows it as a plain create."""
    change = {"actions": ["create", "forget"], "before": {"x": 1}, "after": {"x": 1},
              "after_unknown": {}}  # fmt: skip
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "change": change}
        ],
    }
    with pytest.raises(UsageError, match=r"aws_s3_bucket\.logs: Terraform's actions \['create', "):
        EnvironmentPlan.from_plan("dev", plan)


def test_what_a_marked_collection_could_leak_stays_hidden() -> None:
    """A map's keys (they can be the secret), a number that equals a constant written to
    another attribute (a PIN and a port), a marked null, and an unmarked copy of a marked
    collection holding only short values: none of them shows."""
    port = {"expressions": {"port": {"constant_value": 5432}}}
    marked = {"m": {"tok-7Yx3kP": "v1"}, "cfg": {"admin": True, "pin": 5432}, "none": None,
              "pair": {"pin": "4821", "n": 9931}}  # fmt: skip
    change = {"actions": ["create"], "before": None, "after": marked, "after_unknown": {},
              "after_sensitive": {"m": True, "cfg": True, "none": True, "pair": True}}  # fmt: skip
    copy_of_pair = {"actions": ["create"], "before": None, "after": {"input": marked["pair"]},
                    "after_unknown": {}, "after_sensitive": {}}  # fmt: skip
    plan = {"format_version": "1.2",
            "configuration": {"root_module": {"resources": [port]}},
            "resource_changes": [
                {"address": "terraform_data.secret", "type": "terraform_data", "change": change},
                {"address": "terraform_data.copy", "type": "terraform_data",
                 "change": copy_of_pair}]}  # fmt: skip
    shown = {(c.address, a.name): a.after for c in resource_changes(plan) for a in c.attributes}
    assert shown[("terraform_data.secret", "m")] == SENSITIVE
    assert shown[("terraform_data.secret", "cfg")] == f'{{"admin":true,"pin":"{SENSITIVE}"}}'
    assert shown_value(None, True) == SENSITIVE
    assert shown[("terraform_data.copy", "input")] == SENSITIVE
