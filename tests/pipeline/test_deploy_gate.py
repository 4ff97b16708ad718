"""The deploy job's gate and the drift issue, with real terraform plans and applies (the built-in
`terraform_data` resource, local state) and the GitHub stand-in on loopback."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.github.client import GitHubClient
from gitops.github.standin import GitHubStandIn
from gitops.pipeline import deploy_gate, drift
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import MARKER, CommentContext, render
from gitops.terraform import plan_apply
from gitops.terraform.plan_json import load_plan
from gitops.terraform.runner import TerraformRunner

CODE = """
resource "terraform_data" "service" {{ input = "{value}" }}
output "greeting" {{ value = "hello {value}" }}
output "token" {{
  value     = "token-of-{value}"
  sensitive = true
}}
"""


class Stack:
    """A one-resource Terraform configuration whose value a test changes, as a commit would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "empty.rc").write_text("")
        environ = {**os.environ, "TF_CLI_CONFIG_FILE": str(directory / "empty.rc")}
        self.runner = TerraformRunner(Path(shutil.which("terraform") or "terraform"), environ)
        self.write("one")
        plan_apply.init(self.runner, directory)

    def write(self, value: str) -> None:
        (self.directory / "main.tf").write_text(CODE.format(value=value))

    def plan_environment(self) -> deploy_gate.Planned:
        return self.runner, self.directory, plan_apply.plan(self.runner, self.directory)

    def applied_values(self) -> list[str]:
        state_file = self.directory / "terraform.tfstate"
        if not state_file.exists():
            return []
        state = json.loads(state_file.read_text())
        instances = [i for resource in state["resources"] for i in resource["instances"]]
        return [instance["attributes"]["input"]["value"] for instance in instances]


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return Stack(tmp_path)


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    with GitHubStandIn() as standin:
        yield standin


@pytest.fixture
def client(github: GitHubStandIn) -> GitHubClient:
    return GitHubClient(github.url, github.repository, github.token)


def review(stack: Stack, github: GitHubStandIn, client: GitHubClient, number: int) -> str:
    """What the PR workflow does: plan, and post the plan comment as the bot."""
    _, _, planned = stack.plan_environment()
    plan = EnvironmentPlan.from_plan("dev", load_plan(planned.json_file))
    client.upsert_comment(number, f"<!-- {MARKER} ", render([plan], CommentContext()))
    return plan.fingerprint


def test_the_reviewed_plan_is_applied_and_outputs_reach_the_summary(stack, github, client) -> None:
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    merge = github.merge_pull_request(number)
    values = deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert values == {"greeting": "hello one", "token": "(sensitive)"}
    assert stack.applied_values() == ["one"]
    summary = Path(os.environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert '| `greeting` | `"hello one"` |' in summary and "token-of-one" not in summary
    assert github.issues() == [], "a successful deploy opens no issue"


def test_a_change_after_review_is_refused_reported_and_recovers(stack, github, client) -> None:
    first = github.open_pull_request("first", head="first")
    review(stack, github, client, first)
    deploy_gate.run("dev", github.merge_pull_request(first), stack.plan_environment, client)
    number = github.open_pull_request("second", head="second")
    stack.write("two")
    reviewed = review(stack, github, client, number)
    stack.write("three")  # pushed after the review
    merge = github.merge_pull_request(number)
    with pytest.raises(deploy_gate.PlanMismatch) as refused:
        deploy_gate.run("dev", merge, stack.plan_environment, client)
    message = str(refused.value)
    assert "\n" not in message and f"pull request #{number}" in message
    assert reviewed.removeprefix("sha256:")[:12] in message and "re-run this job" in message
    assert stack.applied_values() == ["one"], "nothing may be applied after a refusal"
    (issue,) = github.issues("open")
    assert issue["title"] == "Deploy of dev failed" and merge in issue["body"]
    assert "Refused plan" in Path(os.environ["GITHUB_STEP_SUMMARY"]).read_text()

    review(stack, github, client, number)  # the re-run the message asks for
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert stack.applied_values() == ["three"] and github.issues("open") == []


def test_only_the_bots_comment_counts(stack, github, client) -> None:
    number = github.open_pull_request("forged", head="forged")
    _, _, planned = stack.plan_environment()
    plan = EnvironmentPlan.from_plan("dev", load_plan(planned.json_file))
    forged = render([plan], CommentContext())
    github.add_comment(number, forged, login="mallory")
    with pytest.raises(deploy_gate.PlanMismatch, match=r"no plan comment of dev written by github"):
        deploy_gate.run("dev", github.merge_pull_request(number), stack.plan_environment, client)
    assert stack.applied_values() == []


def test_a_direct_push_has_no_reviewed_plan(stack, github, client) -> None:
    github.add_file("main.tf", "pushed without review\n")
    with pytest.raises(deploy_gate.PlanMismatch, match="did not come from a merged pull request"):
        deploy_gate.run("dev", github.branch_sha("main"), stack.plan_environment, client)


def test_no_changes_finish_without_looking_for_a_review(stack, github, client) -> None:
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    merge = github.merge_pull_request(number)
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    calls = len(github.requests)
    assert deploy_gate.run("dev", merge, stack.plan_environment, client)["greeting"] == "hello one"
    lookups = [r for r in github.requests[calls:] if "/pulls" in r.path or "/comments" in r.path]
    assert lookups == []


def test_github_failing_after_an_apply_does_not_fail_the_job(stack, github, client, capsys) -> None:
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    merge = github.merge_pull_request(number)
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    github.fail_next("GET", f"/repos/{github.repository}/issues", 502, "Server Error")
    assert deploy_gate.run("dev", merge, stack.plan_environment, client)["greeting"] == "hello one"
    assert "warning: could not close the failure issue" in capsys.readouterr().out


def test_drift_opens_updates_and_closes_one_issue(stack, github, client) -> None:
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    deploy_gate.run("dev", github.merge_pull_request(number), stack.plan_environment, client)
    assert drift.run("dev", None, stack.plan_environment, client) == "dev: no drift"
    stack.write("edited")  # the code and the account disagree now
    assert drift.run("dev", None, stack.plan_environment, client).endswith("opened")
    assert drift.run("dev", None, stack.plan_environment, client).endswith("updated")
    (issue,) = github.issues("open")
    assert issue["title"] == "Drift in dev" and "terraform_data.service" in issue["body"]
    assert [label["name"] for label in issue["labels"]] == ["drift"]
    stack.write("one")
    outcome = drift.run("dev", None, stack.plan_environment, client)
    assert outcome.startswith("dev: no drift; closed issue #")
    assert github.issues("open") == [] and stack.applied_values() == ["one"]
