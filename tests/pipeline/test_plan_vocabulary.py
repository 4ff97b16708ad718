"""The whole vocabulary of `terraform show -json` in the comment, the summary and the fingerprint:
forget, import, move, replacement reasons, failed checks, errored plans, drift and deferrals,
each on a real plan made by terraform with `terraform_data` (see tests/pipeline/plans.py)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from gitops.pipeline import job_summary
from gitops.pipeline.environment_plan import EnvironmentPlan, load_environment_plan
from gitops.pipeline.plan_comment import CommentContext, parse_header, render
from gitops.terraform.plan_fingerprint import fingerprint
from gitops.terraform.plan_json import UnusablePlan, describe_counts

from tests.pipeline.plans import make_vocabulary_plans, with_drift_and_deferral

pytestmark = pytest.mark.slow

GITOPS = str(Path(sys.executable).with_name("gitops"))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    directory = tmp_path_factory.mktemp("vocabulary")
    return make_vocabulary_plans(directory), directory


def comment_of(plan: dict, environment: str = "dev") -> str:
    return render([EnvironmentPlan.from_plan(environment, plan)], CommentContext(commit="c0ffee"))


def lines_of(plan: dict) -> list[str]:
    return comment_of(plan).splitlines()


def test_a_forget_is_counted_and_called_out_with_the_destroys(made) -> None:
    plans, _ = made
    text = comment_of(plans["forget"])
    assert "no changes" not in text
    assert (
        "> - `dev`: **forget** `terraform_data.forgotten`: stops managing (the object stays in AWS)"
        in text
    )
    assert "| `dev` | 0 | 0 | 0 | 0 | 1 | 0 |" in text
    assert "! terraform_data.forgotten  # stops managing (the object stays in AWS)" in text
    assert "input:" not in text, "a forgotten object's values stay as they are: none are listed"


def test_an_import_is_counted_and_listed_with_its_id(made) -> None:
    plans, _ = made
    text = comment_of(plans["import"])
    assert "| `dev` | 1 | 0 | 0 | 0 | 0 | 0 |" in text
    assert '<= terraform_data.imported  # import id "abc-123"' in text.splitlines()
    assert ": 1 to import, 0 to add, 0 to change, 0 to destroy</summary>" in text


def test_a_move_is_said_on_the_resource_and_counted_when_nothing_else_changes(made) -> None:
    plans, _ = made
    text = comment_of(plans["move"])
    assert "=> terraform_data.new_name  # moved from terraform_data.old_name" in text.splitlines()
    assert "| `dev` | 0 | 0 | 0 | 0 | 0 | 1 |" in text
    both = comment_of(plans["all"])
    assert "=> terraform_data.new_name  # moved from terraform_data.old_name" in both.splitlines()


def test_the_attribute_that_forces_a_replacement_is_marked(made) -> None:
    plans, _ = made
    lines = lines_of(plans["replace_paths"])
    assert "-/+ terraform_data.replaced  # must be replaced" in lines
    assert '    triggers_replace: ["x"] -> ["y"]  # forces replacement' in lines
    assert sum("forces replacement" in line for line in lines) == 1, "only the one that does"
    assert "> - `dev`: **replace** `terraform_data.replaced`: must be replaced" in lines


@pytest.mark.parametrize(
    ("kind", "address", "said"),
    [
        ("requested", "terraform_data.kept", "replaced, as requested with -replace"),
        ("tainted", "terraform_data.tainted", "tainted, so must be replaced"),
    ],
)
def test_why_terraform_replaces_is_said(made, kind: str, address: str, said: str) -> None:
    plans, _ = made
    lines = lines_of(plans[kind])
    assert f"> - `dev`: **replace** `{address}`: {said}" in lines
    assert f"-/+ {address}  # {said}" in lines
    assert not any("forces replacement" in line for line in lines), "no attribute forces it"


def test_failed_and_unknown_checks_are_warned_of_with_their_messages(made) -> None:
    plans, _ = made
    text = comment_of(plans["failed_check"])
    warning = text.split("> [!WARNING]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert warning == [
        "> **2 check(s) did not pass:**",
        "> - `dev`: `check.health` **failed**: kept input is not nope",
        "> - `dev`: `check.later` **unknown** until apply (its condition depends on values"
        " known only then)",
    ]
    assert "| `dev` | 0 | 1 | 0 | 0 | 0 | 0 |" in text, "a failed check is a warning, not a change"


def test_an_errored_plan_is_a_failed_plan_with_no_fingerprint(made, tmp_path: Path) -> None:
    plans, directory = made
    plan = EnvironmentPlan.from_plan("dev", plans["errored"])
    text = render([plan], CommentContext(commit="c0ffee"))
    top = text[: text.index("| environment |")]
    assert "> - `dev`: **plan failed**: Terraform stopped with errors while planning" in top
    assert "a condition on `terraform_data.b` **failed**: a must be zzz" in top
    assert "| `dev` | - | - | - | - | - | - | **plan failed** |" in text
    assert "no changes" not in text and "Merging applies exactly" not in text
    assert parse_header(text)["fingerprints"] == {}, "the deploy gate finds nothing to accept"
    assert plan.fingerprint == ""
    with pytest.raises(UnusablePlan, match=r"errored: true"):
        fingerprint(plans["errored"])
    result = subprocess.run([GITOPS, "fingerprint", str(directory / "errored.json")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"gitops fingerprint: error: {directory / 'errored.json'}: no fingerprint: Terraform"
        " stopped with errors while planning (errored: true)"
    )


def test_a_targeted_plan_is_incomplete_so_a_failed_plan(made) -> None:
    """`-target` leaves the rest of the changes for later: not the plan of the code."""
    plans, _ = made
    assert plans["targeted"]["complete"] is False and plans["targeted"]["errored"] is False
    text = comment_of(plans["targeted"])
    assert "> - `dev`: **plan failed**: the plan is incomplete (complete: false)" in text
    assert parse_header(text)["fingerprints"] == {}
    with pytest.raises(UnusablePlan, match=r"complete: false"):
        fingerprint(plans["targeted"])


def test_gitops_plan_of_an_errored_plan_exits_with_one_line_naming_the_check(tmp_path) -> None:
    """Terraform's own first error line says only "Resource precondition failed"."""
    stack = tmp_path / "stacks" / "fraud-detection-dev"
    stack.mkdir(parents=True)
    condition = '${terraform_data.a.input == "zzz"}'
    lifecycle = {"precondition": [{"condition": condition, "error_message": "a must be zzz"}]}
    resources = {"a": {"input": "a"}, "b": {"input": "b", "lifecycle": lifecycle}}
    (stack / "cdk.tf.json").write_text(json.dumps({"resource": {"terraform_data": resources}}))
    result = subprocess.run([GITOPS, "plan", "dev", "--no-synth", "--outdir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "gitops plan: error: fraud-detection-dev: terraform plan failed: Resource precondition"
        " failed (terraform_data.b: a must be zzz)"
    ]
    assert sorted(p.name for p in stack.iterdir() if not p.name.startswith(".")) == [
        "cdk.tf.json"
    ], "no plan file, plan JSON or summary is left behind"


def test_the_mixed_plan_speaks_terraforms_plan_line(made) -> None:
    plans, directory = made
    said = (directory / "all.txt").read_text()
    terraforms = re.search(r"^Plan: (.+)\.$", said, re.MULTILINE).group(1)
    assert terraforms == "1 to import, 4 to add, 1 to change, 3 to destroy"
    ours = describe_counts(EnvironmentPlan.from_plan("dev", plans["all"]).counts, "none")
    assert ours == f"{terraforms}, 1 to forget, 1 to move"
    text = comment_of(plans["all"])
    assert "| `dev` | 1 | 4 | 1 | 3 | 1 | 1 |" in text
    assert f"<b><code>dev</code></b>: {ours}</summary>" in text
    callout = text.split("> [!CAUTION]\n", 1)[1].split("\n\n", 1)[0]
    assert "destroyed, replaced or no longer managed by Terraform" in callout
    for line in (
        "**replace** `terraform_data.kept`: replaced, as requested with -replace",
        "**replace** `terraform_data.replaced`: must be replaced",
        "**replace** `terraform_data.tainted`: tainted, so must be replaced",
        "**forget** `terraform_data.forgotten`: stops managing (the object stays in AWS)",
    ):
        assert f"> - `dev`: {line}" in callout.splitlines()
    assert "`check.health` **failed**: kept input is not nope" in text
    lines = text.splitlines()
    assert "~ terraform_data.updated" in lines and '    input: "one" -> "two"' in lines
    assert '<= terraform_data.imported  # import id "abc-123"' in lines


def test_every_kind_has_its_own_fingerprint(made) -> None:
    plans, _ = made
    usable = {name: plan for name, plan in plans.items() if name not in ("errored", "targeted")}
    usable["drift_and_deferral"] = with_drift_and_deferral(plans["all"])
    digests = {name: fingerprint(plan) for name, plan in usable.items()}
    for (a, first), (b, second) in itertools.combinations(digests.items(), 2):
        assert first != second, f"{a} and {b} share a fingerprint"


def test_drift_is_folded_and_deferred_changes_listed_but_never_counted(made) -> None:
    plans, _ = made
    base = EnvironmentPlan.from_plan("dev", plans["all"])
    plan = EnvironmentPlan.from_plan("dev", with_drift_and_deferral(plans["all"]))
    assert plan.counts == base.counts
    text = render([plan], CommentContext())
    folded = text.split("Objects have changed outside of Terraform (2)</summary>", 1)[1]
    folded = folded.split("</details>", 1)[0]
    assert "~ terraform_data.updated  # changed outside Terraform" in folded
    assert "- terraform_data.gone  # deleted outside Terraform" in folded
    assert "- `terraform_data.later`: change (resource_config_unknown)" in text
    assert "Deferred to a later plan (1; not counted, not applied by this):" in text


def test_the_summary_renders_as_the_raw_plan_does_for_every_kind(made, tmp_path) -> None:
    plans, _ = made
    kinds = {**plans, "drift_and_deferral": with_drift_and_deferral(plans["all"])}
    for name, raw in kinds.items():
        plan = EnvironmentPlan.from_plan("dev", raw)
        summary_file = tmp_path / f"{name}-summary.json"
        summary_file.write_text(json.dumps(plan.to_summary()))
        restored = load_environment_plan("dev", summary_file)
        assert restored == plan, name
        context = CommentContext(commit="c0ffee")
        assert render([restored], context) == render([plan], context), name


def test_the_job_summary_says_the_same(made, tmp_path, monkeypatch) -> None:
    plans, _ = made
    target = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    job_summary.append_plan([EnvironmentPlan.from_plan("dev", plans["forget"])], CommentContext())
    assert "**forget** `terraform_data.forgotten`: stops managing" in target.read_text()
