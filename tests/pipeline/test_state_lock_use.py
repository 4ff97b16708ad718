"""Which state locking each pipeline command plans and applies with: previews (the pull
request's plans, drift) take no lock, so they neither fail a deploy nor need a write; the
deploy's plan and apply wait a bounded time for a lock another run holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.cli import build_parser
from gitops.github.client import GitHubClient
from gitops.github.standin import GitHubStandIn
from gitops.github.transport import RetryPolicy
from gitops.pipeline import commands, deploy_gate
from gitops.terraform import plan_apply
from gitops.terraform.plan_apply import DEPLOY, FAIL_FAST, PREVIEW, StateLocking

from tests.pipeline.test_deploy_gate import Stack, review


class Planned(Exception):
    """Raised where the command would plan: what it asked for is recorded by then."""


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    with GitHubStandIn() as standin:
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", standin.repository)
        monkeypatch.setenv("GITHUB_TOKEN", standin.token)
        yield standin


@pytest.mark.parametrize(
    ("words", "expected"),
    [(["plan", "dev"], PREVIEW), (["drift", "dev"], PREVIEW),
     (["deploy", "dev", "--commit", "0" * 40], DEPLOY)],
    ids=["plan", "drift", "deploy"],
)  # fmt: skip
def test_each_command_plans_with_its_locking(
    words, expected, github, tmp_path, monkeypatch
) -> None:
    asked: list[StateLocking] = []

    def planned(config, outdir, no_synth=False, locking=FAIL_FAST):
        asked.append(locking)
        raise Planned

    monkeypatch.setattr(commands, "planned", planned)
    args = build_parser().parse_args([*words, "--no-synth", "--outdir", str(tmp_path)])
    with pytest.raises(Planned):
        args.handler(args)
    assert asked == [expected]


def test_the_deploy_applies_the_reviewed_plan_waiting_for_the_lock(
    tmp_path, github, monkeypatch
) -> None:
    stack = Stack(tmp_path)
    client = GitHubClient(
        github.url, github.repository, github.token, retry=RetryPolicy(base_seconds=0.01)
    )
    number = github.open_pull_request("first", head="first")
    review(stack, github, client, number)
    applied: list[StateLocking] = []
    real_apply = plan_apply.apply

    def apply(*args, locking: StateLocking = FAIL_FAST, **kwargs) -> None:
        applied.append(locking)
        real_apply(*args, locking=locking, **kwargs)

    monkeypatch.setattr(plan_apply, "apply", apply)
    deploy_gate.run("dev", github.merge_pull_request(number), stack.plan_environment, client)
    assert applied == [DEPLOY] and stack.applied_values() == ["one"]
