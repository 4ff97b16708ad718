"""The rehearsal's forged-comment step, without Terraform: the forgery it posts and the refusal
it waits for must be what the deploy gate really says, or `make rehearse` would fail a good run
(or pass a bad one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gitops.github.client import GitHubClient
from gitops.github.standin import GitHubStandIn
from gitops.pipeline import deploy_gate
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import MARKER, CommentContext, parse_header, render
from gitops.pipeline.rehearse import (
    FORGING_WORKFLOW,
    PR_WORKFLOW,
    forged_plan_comment,
    forged_refusal,
)

FINGERPRINT = "sha256:" + "ab" * 32


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        yield standin


def test_the_forged_comment_is_refused_as_the_rehearsal_expects(github) -> None:
    client = GitHubClient(github.url, github.repository, github.token)
    number = github.open_pull_request("change", head="change")
    head = github.pull_requests()[0]["head"]["sha"]
    genuine_run = github.add_workflow_run(PR_WORKFLOW, head)
    plan = EnvironmentPlan("local", (), {}, FINGERPRINT)
    genuine = render([plan], CommentContext(run_id=genuine_run))
    client.upsert_comment(number, f"<!-- {MARKER} ", genuine)
    github.finish_workflow_run(genuine_run)
    forging_run = github.add_workflow_run(FORGING_WORKFLOW, head, conclusion="success")

    forged = forged_plan_comment(genuine, forging_run)
    assert parse_header(forged) == {**(parse_header(genuine) or {}), "run_id": forging_run}
    assert forged.split("\n", 1)[1] == genuine.split("\n", 1)[1], "only the run differs"
    client.call("POST", f"/issues/{number}/comments", {"body": forged})

    reviewed = deploy_gate.reviewed_plan(client, github.merge_pull_request(number), "local")
    assert reviewed.fingerprint == FINGERPRINT and reviewed.run_id == forging_run
    with pytest.raises(deploy_gate.UntrustedComment) as refused:
        deploy_gate.check_provenance(client, reviewed, "local")
    assert forged_refusal(forging_run) in str(refused.value)
