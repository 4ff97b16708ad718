"""The deploy job's gate and the drift issue, with real terraform plans and applies (the built-in
`terraform_data` resource, local state) and the GitHub stand-in on loopback."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.github.client import GitHubClient, GitHubError
from gitops.github.standin import GitHubStandIn
from gitops.github.transport import RetryPolicy
from gitops.pipeline import deploy_gate, drift, reviewers
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import MARKER, CommentContext, render
from gitops.terraform import plan_apply
from gitops.terraform.plan_json import load_plan
from gitops.terraform.runner import TerraformRunner

from tests.faults import FAULT_MESSAGE, terraform_failing_at

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
    fast = RetryPolicy(base_seconds=0.01)
    return GitHubClient(github.url, github.repository, github.token, retry=fast)


PR_WORKFLOW = ".github/workflows/pr.yml"


def head_of(github: GitHubStandIn, number: int) -> str:
    (pull,) = [p for p in github.pull_requests() if p["number"] == number]
    return str(pull["head"]["sha"])


def review(
    stack: Stack,
    github: GitHubStandIn,
    client: GitHubClient,
    number: int,
    *,
    path: str = PR_WORKFLOW,
    conclusion: str | None = "success",
    **run: str,
) -> str:
    """What the PR workflow does: plan, and post the plan comment as the bot from its run, which
    then finishes with `conclusion` (None: still running). `path` and `run` make it another
    workflow's run (`event`, `head_sha`, `head_repository`)."""
    _, _, planned = stack.plan_environment()
    plan = EnvironmentPlan.from_plan("dev", load_plan(planned.json_file))
    head_sha = run.pop("head_sha", None) or head_of(github, number)
    run_id = github.add_workflow_run(path, head_sha, **run)
    text = render([plan], CommentContext(run_id=run_id))
    client.upsert_comment(number, f"<!-- {MARKER} ", text)
    if conclusion is not None:
        github.finish_workflow_run(run_id, conclusion)
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


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ({"path": ".github/workflows/forge.yml"},
         "is a run of `.github/workflows/forge.yml`, not of `.github/workflows/pr.yml`"),
        ({"event": "push"}, "was triggered by `push`, not `pull_request`"),
        ({"head_repository": "mallory/fraud-detection"},
         "ran the code of mallory/fraud-detection, not of acme/fraud-detection"),
        ({"head_sha": "0" * 40}, "planned commit 000000000000, not the pull request's final head"),
        ({"conclusion": "failure"}, "concluded `failure`, not `success`"),
        ({"conclusion": None}, "has not finished (status `in_progress`)"),
    ],
    ids=["other workflow", "push event", "fork", "older head", "failed", "running"],
)  # fmt: skip
def test_a_comment_the_pull_requests_own_pr_run_did_not_write_is_refused(
    stack, github, client, run, why
) -> None:
    number = github.open_pull_request("change", head="change")
    review(stack, github, client, number, **run)  # the fingerprint itself matches
    with pytest.raises(deploy_gate.UntrustedComment) as refused:
        deploy_gate.run("dev", github.merge_pull_request(number), stack.plan_environment, client)
    message = str(refused.value)
    (comment,) = github.comments(number)
    assert "\n" not in message and why in message
    assert message.startswith(f"dev: the plan comment {comment['html_url']} is not trusted: run ")
    assert stack.applied_values() == [], "nothing may be applied from an untrusted comment"
    (issue,) = github.issues("open")
    assert why in issue["body"]


def test_a_comment_naming_no_run_or_an_unknown_one_is_refused(stack, github, client) -> None:
    number = github.open_pull_request("change", head="change")
    _, _, planned = stack.plan_environment()
    plan = EnvironmentPlan.from_plan("dev", load_plan(planned.json_file))
    client.upsert_comment(number, f"<!-- {MARKER} ", render([plan], CommentContext()))
    merge = github.merge_pull_request(number)
    with pytest.raises(deploy_gate.UntrustedComment, match="it names no workflow run"):
        deploy_gate.run("dev", merge, stack.plan_environment, client)
    client.upsert_comment(number, f"<!-- {MARKER} ", render([plan], CommentContext(run_id=999)))
    with pytest.raises(deploy_gate.UntrustedComment, match="run 999 does not exist in acme/"):
        deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert stack.applied_values() == []


def test_a_comment_changed_after_its_run_finished_is_refused(stack, github, client) -> None:
    number = github.open_pull_request("change", head="change")
    review(stack, github, client, number)
    (comment,) = github.comments(number)
    # Another workflow rewrites the bot's comment later: the same token can, as the same bot.
    client.call("PATCH", f"/issues/comments/{comment['id']}", {"body": comment["body"]})
    with pytest.raises(deploy_gate.UntrustedComment, match="before the comment was last changed"):
        deploy_gate.run("dev", github.merge_pull_request(number), stack.plan_environment, client)
    assert stack.applied_values() == []


REVIEWERS = reviewers.RequiredReviewers()


@pytest.mark.parametrize(
    ("environment", "found"),
    [(None, "GitHub has no environment `dev` that this job can see"
             " (GET /repos/acme/fraud-detection/environments/dev: 404)"),
     (((), True, False), "the GitHub environment `dev` has no required-reviewers rule"),
     ((("prod-approver",), False, False),
      "the GitHub environment `dev` lets whoever started the run approve it"),
     ((("prod-approver",), True, True),
      "the GitHub environment `dev` lets administrators run without approval")],
    ids=["no environment", "no reviewers rule", "self-review allowed", "administrators bypass"],
)  # fmt: skip
def test_an_environment_meant_to_wait_for_a_reviewer_without_one_is_refused_before_planning(
    stack, github, client, environment, found
) -> None:
    if environment is not None:
        logins, self_review, bypass = environment
        github.add_environment("dev", logins, prevent_self_review=self_review, wait_timer=5,
                               can_admins_bypass=bypass)  # fmt: skip
    merge = merged_and_reviewed(stack, github, client)
    planned: list[str] = []

    def plan_environment() -> deploy_gate.Planned:
        planned.append("dev")
        return stack.plan_environment()

    with pytest.raises(reviewers.ReviewersMissing) as refused:
        deploy_gate.run("dev", merge, plan_environment, client, required_reviewers=REVIEWERS)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"dev: {found}")
    assert "pipeline.require_reviewers in environments/dev.yaml" in message
    assert "(Settings > Environments > dev)" in message and "pipeline.reviewers_waiver" in message
    assert '"Prevent self-review" and without administrator bypass' in message
    assert planned == [] and stack.applied_values() == []
    (issue,) = github.issues("open")
    assert found in issue["body"]


def test_an_environment_with_required_reviewers_deploys(stack, github, client, capsys) -> None:
    github.add_environment(
        "dev", ("prod-approver",), prevent_self_review=True, can_admins_bypass=False
    )
    merge = merged_and_reviewed(stack, github, client)
    deploy_gate.run("dev", merge, stack.plan_environment, client, required_reviewers=REVIEWERS)
    assert stack.applied_values() == ["one"]
    assert "dev: every apply waits for a required reviewer" in capsys.readouterr().out
    asked = [r.path for r in github.requests if "/environments/" in r.path]
    assert asked == [f"/repos/{github.repository}/environments/dev"]


def test_a_waiver_in_the_file_turns_the_refusal_into_a_loud_warning(
    stack, github, client, capsys
) -> None:
    merge = merged_and_reviewed(stack, github, client)
    waived = reviewers.RequiredReviewers("private repository on the Team plan;\naccepted by CISO")
    deploy_gate.run("dev", merge, stack.plan_environment, client, required_reviewers=waived)
    assert stack.applied_values() == ["one"]
    (warning,) = [line for line in capsys.readouterr().out.splitlines() if "::warning" in line]
    assert warning.startswith("::warning title=No required reviewers for dev::dev: GitHub has no")
    assert warning.endswith("allows: private repository on the Team plan; accepted by CISO")
    summary = Path(os.environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "> [!WARNING]\n> dev: GitHub has no environment `dev`" in summary


def test_environments_not_asking_for_reviewers_are_not_checked(stack, github, client) -> None:
    deploy_gate.run("dev", merged_and_reviewed(stack, github, client), stack.plan_environment,
                    client)  # fmt: skip
    assert stack.applied_values() == ["one"]
    assert [r for r in github.requests if "/environments/" in r.path] == []


def test_a_cancelled_deploy_is_reported_in_the_environments_issue(stack, github, client) -> None:
    merge = merged_and_reviewed(stack, github, client)
    outcome = deploy_gate.report_cancelled(client, "dev", merge)
    assert outcome == f"dev: the deploy of {merge[:12]} was cancelled; failure issue #2 opened"
    (issue,) = github.issues("open")
    assert issue["title"] == "Deploy of dev failed" and f"`{merge}` was cancelled" in issue["body"]
    assert "concurrency group `deploy-dev`" in issue["body"] and "re-run" in issue["body"]
    assert [label["name"] for label in issue["labels"]] == ["deploy-failed"]
    later = deploy_gate.report_cancelled(client, "dev", "f" * 40)
    assert later.endswith("failure issue #2 updated") and len(github.issues("open")) == 1
    deploy_gate.run("dev", merge, stack.plan_environment, client)  # the next deploy succeeds
    assert github.issues("open") == [] and stack.applied_values() == ["one"]


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
    github.fail_next("GET", f"/repos/{github.repository}/issues", 502, "Server Error", times=4)
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


def merged_and_reviewed(stack: Stack, github: GitHubStandIn, client: GitHubClient) -> str:
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    return github.merge_pull_request(number)


def test_an_apply_failing_after_the_gate_is_reported_and_a_second_updates_the_issue(
    stack, github, client, tmp_path
) -> None:
    merge = merged_and_reviewed(stack, github, client)
    faulty = dataclasses.replace(stack.runner, binary=terraform_failing_at(tmp_path, "apply"))

    def plan_with_faulty_apply() -> deploy_gate.Planned:
        return faulty, stack.directory, plan_apply.plan(faulty, stack.directory)

    for _ in range(2):
        with pytest.raises(GitopsError, match=f"terraform apply failed: {FAULT_MESSAGE}"):
            deploy_gate.run("dev", merge, plan_with_faulty_apply, client)
    assert stack.applied_values() == []
    (issue,) = github.issues("open")
    assert issue["title"] == "Deploy of dev failed" and FAULT_MESSAGE in issue["body"]
    posts = [r for r in github.requests if r.method == "POST" and r.path.endswith("/issues")]
    patches = [r for r in github.requests if r.method == "PATCH" and "/issues/" in r.path]
    assert len(posts) == 1 and len(patches) == 1, "the second failure updates the same issue"
    assert (stack.directory / "plan.tfplan").is_file() and (stack.directory / "plan.json").is_file()
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert stack.applied_values() == ["one"] and github.issues("open") == []


def test_a_transient_error_finding_the_merged_pull_request_is_retried(stack, github, client):
    merge = merged_and_reviewed(stack, github, client)
    github.fail_next("GET", f"/repos/{github.repository}/commits/", 502, "Bad Gateway")
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert stack.applied_values() == ["one"] and github.issues() == []


def test_a_merge_github_has_not_associated_yet_is_deployed_after_a_wait(stack, github, client):
    merge = merged_and_reviewed(stack, github, client)
    github.lag_merges(3)  # the first lookups right after the merge list no pull request
    deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert stack.applied_values() == ["one"] and github.issues() == []


def test_github_down_while_finding_the_merged_pull_request_applies_nothing(
    stack, github, client
) -> None:
    merge = merged_and_reviewed(stack, github, client)
    github.fail_next("GET", f"/repos/{github.repository}/commits/", 500, "Server Error", times=4)
    with pytest.raises(GitHubError, match=r"commits/.+/pulls: 500 Server Error \(after 4") as err:
        deploy_gate.run("dev", merge, stack.plan_environment, client)
    assert "\n" not in str(err.value) and stack.applied_values() == []
    (issue,) = github.issues("open")
    assert "500 Server Error" in issue["body"]


def test_a_failure_issue_that_cannot_be_written_keeps_the_real_error(
    stack, github, client, capsys
) -> None:
    github.add_file("main.tf", "pushed without review\n")
    github.fail_next("POST", f"/repos/{github.repository}/issues", 500, "Server Error", times=4)
    with pytest.raises(deploy_gate.PlanMismatch, match="did not come from a merged pull request"):
        deploy_gate.run("dev", github.branch_sha("main"), stack.plan_environment, client)
    out = capsys.readouterr().out
    assert "dev: could not report the failure in an issue: GitHub POST" in out
    assert github.issues() == [] and stack.applied_values() == []
