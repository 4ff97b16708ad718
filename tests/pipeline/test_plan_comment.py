"""Fingerprint and PR comment on real terraform plans (see tests/pipeline/plans.py)."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path

import pytest
from gitops.errors import UsageError
from gitops.pipeline.environment_plan import EnvironmentPlan, load_environment_plan
from gitops.pipeline.plan_comment import GITHUB_COMMENT_LIMIT, CommentContext, parse_header, render
from gitops.terraform.plan_fingerprint import fingerprint
from gitops.terraform.plan_json import resource_changes
from gitops.terraform.plan_values import MAX_VALUE_CHARS, attribute_changes

from tests.helpers import gitops_in_process
from tests.pipeline.plans import SECRET_1, SECRET_2, make_plans, scaled


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("plans")
    return make_plans(directory), directory


def comment(**plans_by_env) -> str:
    environment_plans = [EnvironmentPlan.from_plan(env, plan) for env, plan in plans_by_env.items()]
    return render(
        environment_plans, CommentContext(commit="0123456789abcdef", run_url="https://ci/run/1")
    )


# --- fingerprint ---------------------------------------------------------------------------


def test_fingerprint_is_stable_across_plans_of_the_same_change(plans) -> None:
    real, _ = plans
    assert real["mixed"]["timestamp"] != real["mixed_again"]["timestamp"]
    assert fingerprint(real["mixed"]) == fingerprint(real["mixed_again"])


def test_fingerprint_ignores_key_order_and_unchanged_resources(plans) -> None:
    real, _ = plans
    shuffled = json.loads(json.dumps(real["mixed"], sort_keys=True))
    random.Random(7).shuffle(shuffled["resource_changes"])
    without_noop = copy.deepcopy(real["mixed"])
    without_noop["resource_changes"] = [
        c for c in without_noop["resource_changes"] if c["change"]["actions"] != ["no-op"]
    ]
    assert len(without_noop["resource_changes"]) < len(real["mixed"]["resource_changes"])
    assert fingerprint(shuffled) == fingerprint(real["mixed"]) == fingerprint(without_noop)


def test_fingerprint_changes_when_any_planned_value_changes(plans) -> None:
    real, _ = plans
    changed = copy.deepcopy(real["mixed"])
    updated = next(
        c for c in changed["resource_changes"] if c["address"] == "terraform_data.updated"
    )
    updated["change"]["after"]["input"] = "three"
    assert fingerprint(changed) != fingerprint(real["mixed"])
    assert fingerprint(real["create"]) != fingerprint(real["mixed"])
    assert fingerprint(real["no_changes"]) != fingerprint(real["mixed"])


def test_fingerprint_cli_prints_one_line(plans) -> None:
    _, directory = plans
    result = gitops_in_process(["fingerprint", str(directory / "mixed.json")])
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("sha256:")


# --- comment -------------------------------------------------------------------------------


def test_actions_are_read_from_the_real_plan(plans) -> None:
    real, _ = plans
    actions = {c.address: c.action for c in resource_changes(real["mixed"])}
    assert actions == {
        "terraform_data.removed": "destroy",
        "terraform_data.replaced": "replace",
        "terraform_data.credentials": "change",
        "terraform_data.updated": "change",
    }


def test_destroys_and_replacements_come_first(plans) -> None:
    real, _ = plans
    text = comment(dev=real["mixed"], staging=real["no_changes"])
    caution = text.index("[!CAUTION]")
    assert caution < text.index("| environment |")
    top = text[caution : text.index("| environment |")]
    assert "**destroy** `terraform_data.removed`" in top
    assert "**replace** `terraform_data.replaced`" in top


def test_summary_table_counts_and_fingerprints(plans) -> None:
    real, _ = plans
    text = comment(dev=real["mixed"], staging=real["create"], prod=real["no_changes"])
    # Terraform's words and its sums: a replacement is one add and one destroy.
    assert "| environment | import | add | change | destroy | forget | move |" in text
    assert "| `dev` | 0 | 1 | 2 | 2 | 0 | 0 |" in text
    assert "| `staging` | 0 | 5 | 0 | 0 | 0 | 0 |" in text
    assert "| `prod` | 0 | 0 | 0 | 0 | 0 | 0 |" in text
    assert "<b><code>dev</code></b>: 1 to add, 2 to change, 2 to destroy</summary>" in text
    assert "**`prod`: no changes.**" in text
    header = parse_header(text)
    assert header["fingerprints"]["dev"] == fingerprint(real["mixed"])
    assert header["commit"] == "0123456789abcdef"


def test_changed_attributes_listed_with_diff_markers_in_column_zero(plans) -> None:
    real, _ = plans
    text = comment(dev=real["mixed"])
    lines = text.splitlines()
    assert "~ terraform_data.updated" in lines
    assert "-/+ terraform_data.replaced  # must be replaced" in lines
    assert '    triggers_replace: ["x"] -> ["y"]  # forces replacement' in lines
    assert "- terraform_data.removed  # no longer in the code" in lines
    assert '    input: "one" -> "two"' in lines
    assert "terraform_data.kept" not in text, "unchanged resources are not listed"
    assert "~ output.greeting" in lines


def test_sensitive_values_never_appear(plans) -> None:
    real, _ = plans
    text = comment(dev=real["mixed"], staging=real["create"])
    assert SECRET_1 not in text and SECRET_2 not in text
    assert "    input: (sensitive) -> (sensitive)" in text


def test_fork_gets_the_reason_instead_of_a_plan() -> None:
    context = CommentContext(
        no_plan_reason="pull requests from forks get no cloud credentials.",
        policy_summary="302 passed, 0 failed, 15 skipped",
    )
    text = render([], context)
    assert "**No plan:** pull requests from forks get no cloud credentials." in text
    assert "**Policy gate:** 302 passed, 0 failed, 15 skipped" in text
    assert "| environment |" not in text


def test_real_large_plan_fits(plans) -> None:
    real, _ = plans
    text = comment(dev=real["large"])
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "| `dev` | 0 | 2000 | 0 | 0 | 0 | 0 |" in text


def test_a_20000_change_plan_fits_with_true_counts_and_says_what_it_left_out(plans) -> None:
    real, _ = plans
    huge = scaled(real["mixed"], 20_000)
    text = comment(dev=huge, staging=real["mixed"])
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "| `dev` | 0 | 5000 | 10000 | 10000 | 0 | 0 |" in text, "true counts survive shortening"
    assert "Shortened to fit GitHub's comment limit" in text
    assert "the job summary of each plan job" in text
    # 5,000 replaced and 5,000 destroyed in dev, one of each in staging: exactly 10,002.
    assert "**10002 resource(s) will be destroyed or replaced.**" in text
    assert text.rstrip().endswith("[Workflow run](https://ci/run/1).")


def test_twenty_environments_fit_one_comment_with_every_true_count(plans) -> None:
    """Twenty environments (regions, accounts), each with a large plan: one comment."""
    real, _ = plans
    environment_plans = [
        EnvironmentPlan.from_plan(f"region-{index:02d}", scaled(real["mixed"], 400 + 37 * index))
        for index in range(20)
    ]
    text = render(environment_plans, CommentContext(commit="0" * 40))
    assert len(text) <= GITHUB_COMMENT_LIMIT
    header = parse_header(text)
    assert header is not None
    for plan in environment_plans:
        assert header["counts"][plan.environment] == plan.counts
        assert len(plan.changes) == 400 + 37 * int(plan.environment[-2:])
        assert f"| `{plan.environment}` |" in text, "every environment has its row"


def test_comment_cli_and_its_errors(plans, tmp_path: Path) -> None:
    _, directory = plans
    ok = gitops_in_process(["comment", f"dev={directory / 'mixed.json'}", "--commit", "abc"])
    assert ok.returncode == 0 and ok.stdout.startswith("<!-- gitops-plan-comment ")
    for args, message in (
        (["dev"], "'dev': expected ENV=PLAN_JSON"),
        (["qa=x.json"], "unknown environment 'qa'"),
        ([f"dev={tmp_path / 'missing.json'}"], "missing.json: plan JSON not found"),
    ):
        bad = gitops_in_process(["comment", *args])
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
        assert message in bad.stderr
    not_a_plan = tmp_path / "x.json"
    not_a_plan.write_text("{}")
    bad = gitops_in_process(["fingerprint", str(not_a_plan)])
    assert bad.returncode == 2 and "not a `terraform show -json` plan" in bad.stderr
    garbled = tmp_path / "policy.txt"
    garbled.write_bytes(b"338 passed \xff")
    plan_arg = f"dev={directory / 'mixed.json'}"
    bad = gitops_in_process(["comment", plan_arg, "--policy-summary-file", str(garbled)])
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "policy.txt: not UTF-8 (byte at offset 11)" in bad.stderr
    summary_folder = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path)}
    bad = gitops_in_process(["comment", plan_arg], summary_folder)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert f"GITHUB_STEP_SUMMARY {tmp_path}: cannot write (Is a directory)" in bad.stderr


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"resource_changes": [{"address": "a"}]}, "resource_changes[0]: no address or type"),
        ({"resource_changes": [{"address": "a", "type": "t"}]}, "resource_changes[0]: no change"),
        ({"resource_changes": [{"address": "a", "type": "t", "change": {"actions": "create"}}]},
         "resource_changes[0]: change.actions: not a list of words"),
        ({"resource_changes": None, "output_changes": [1]}, "output_changes: not an object"),
        ({"output_changes": {"o": {}}}, "output_changes.o: no actions"),
        ({"checks": [1]}, "checks: not a list of objects"),
        ({"deferred_changes": [{"reason": "x"}]}, "deferred_changes[0]: no resource_change"),
    ],
)  # fmt: skip
def test_a_plan_json_of_the_wrong_shape_is_one_line_naming_the_field(
    tmp_path: Path, fields: dict, problem: str
) -> None:
    """A truncated or hand-edited plan: refused where it is read, not deep in the rendering."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"format_version": "1.2", **fields}))
    for args in (["fingerprint", str(path)], ["comment", f"dev={path}"]):
        bad = gitops_in_process(args)
        assert bad.returncode == 2, bad.stderr
        (line,) = bad.stderr.strip().splitlines()
        assert line.endswith(f"p.json: not a `terraform show -json` plan ({problem})"), line
    path.write_text("[" * 100_000 + "]" * 100_000)
    bad = gitops_in_process(["fingerprint", str(path)])
    assert bad.returncode == 2 and "nested too deeply" in bad.stderr


def test_the_uploadable_plan_summary_renders_the_same_and_holds_no_secret(plans, tmp_path) -> None:
    real, _ = plans
    plan = EnvironmentPlan.from_plan("dev", real["mixed"])
    summary_file = tmp_path / "plan-summary.json"
    summary_file.write_text(json.dumps(plan.to_summary()))
    text = summary_file.read_text()
    assert SECRET_1 not in text and SECRET_2 not in text and "(sensitive)" in text
    restored = load_environment_plan("dev", summary_file)
    assert restored == plan
    context = CommentContext(commit="0123456789abcdef")
    assert render([restored], context) == render([plan], context)
    with pytest.raises(UsageError, match=r"plan-summary\.json: this is the plan of 'dev', not"):
        load_environment_plan("prod", summary_file)
    summary_file.write_text(json.dumps({"format": "gitops-plan-summary/1", "environment": "dev"}))
    with pytest.raises(UsageError, match="not a valid plan summary"):
        load_environment_plan("dev", summary_file)


def test_a_long_value_is_shown_where_it_changed() -> None:
    definitions = [{"environment": [{"name": "LOG_LEVEL", "value": "DEBUG"}], "image": "x" * 200}]
    before = {"container_definitions": json.dumps(definitions)}
    after = {"container_definitions": json.dumps(definitions).replace("DEBUG", "INFO")}
    (shown,) = attribute_changes({"before": before, "after": after})
    assert "LOG_LEVEL" in shown.before and "DEBUG" in shown.before and "INFO" in shown.after
    assert len(shown.before) <= MAX_VALUE_CHARS and len(shown.after) <= MAX_VALUE_CHARS
    assert shown.before.endswith("...") and shown.after.endswith("...")


def test_copies_of_secrets_are_masked_however_json_escapes_them() -> None:
    pem = "-----BEGIN KEY-----\nMIIsecret\n-----END KEY-----"  # pragma: allowlist secret
    login = {"password": "hunter22", "user": "admin"}  # pragma: allowlist secret
    marked = {
        "address": "terraform_data.marked", "type": "terraform_data",
        "change": {"actions": ["create"], "before": None, "after": {"input": [pem, login]},
                   "after_unknown": {}, "after_sensitive": {"input": True}},
    }  # fmt: skip
    copy_of_it = {
        "address": "terraform_data.copy", "type": "terraform_data",
        "change": {"actions": ["create"], "before": None,
                   "after": {"key": pem, "login": login, "note": "password is hunter22!"},
                   "after_unknown": {}, "after_sensitive": {}},
    }  # fmt: skip
    plan = {"format_version": "1.2", "resource_changes": [marked, copy_of_it]}
    text = render([EnvironmentPlan.from_plan("dev", plan)], CommentContext())
    assert "MIIsecret" not in text and "hunter22" not in text
    copy_change = next(c for c in resource_changes(plan) if c.address == "terraform_data.copy")
    assert {a.name: a.after for a in copy_change.attributes} == {
        "key": "(sensitive)",
        "login": "(sensitive)",
        "note": "(sensitive)",
    }


def test_words_of_a_block_marked_sensitive_as_a_whole_hide_nothing_else() -> None:
    """Terraform marks a whole WAF rule set sensitive when one search string in it is. Its
    secret stays hidden everywhere; its configuration words (`true`, `NONE`) hide nothing else:
    a task definition's log level change stays readable."""
    origin = "sn7JQOkbkypJhIZXvQAowNhhjQIv"  # pragma: allowlist secret
    rules = [
        {
            "name": "allow-api-gateway-origin",
            "priority": 0,
            "override": "NONE",
            "visibility": {"sampled": True},
            "match": {"search_string": origin},
        }
    ]
    acl = {
        "address": "aws_wafv2_web_acl.alb", "type": "aws_wafv2_web_acl",
        "change": {"actions": ["update"], "before": {"rule": rules, "name": "a"},
                   "after": {"rule": rules, "name": "b"}, "after_unknown": {},
                   "before_sensitive": {"rule": True}, "after_sensitive": {"rule": True}},
    }  # fmt: skip
    definitions = '[{{"essential":true,"environment":[{{"name":"LOG_LEVEL","value":"{}"}}]}}]'
    task = {
        "address": "aws_ecs_task_definition.api", "type": "aws_ecs_task_definition",
        "change": {"actions": ["update"],
                   "before": {"container_definitions": definitions.format("DEBUG")},
                   "after": {"container_definitions": definitions.format("INFO"),
                             "origin": origin},
                   "after_unknown": {}, "after_sensitive": {}},
    }  # fmt: skip
    plan = {"format_version": "1.2", "resource_changes": [acl, task]}
    text = render([EnvironmentPlan.from_plan("dev", plan)], CommentContext())
    assert origin not in text
    assert '\\"LOG_LEVEL\\",\\"value\\":\\"INFO' in text
    changed = {a.name: a.after for c in resource_changes(plan) for a in c.attributes}
    assert changed["origin"] == "(sensitive)"


def test_data_bearing_destroys_are_named_first_even_among_many() -> None:
    entries = [
        {"address": f"aws_iam_role.r{index:03}", "type": "aws_iam_role",
         "change": {"actions": ["delete"], "before": {"name": "x"}, "after": None}}
        for index in range(100)
    ] + [
        {"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket",
         "change": {"actions": ["delete"], "before": {"bucket": "logs"}, "after": None}}
    ]  # fmt: skip
    plan = {"format_version": "1.2", "resource_changes": entries}
    text = render([EnvironmentPlan.from_plan("prod", plan)], CommentContext())
    callout = text.split("> [!CAUTION]", 1)[1].split("\n\n", 1)[0]
    first_named = callout.splitlines()[2]
    assert first_named == "> - `prod`: **destroy** **`aws_s3_bucket.logs` (holds data)**"
    assert "... and 61 more" in callout
