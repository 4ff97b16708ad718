"""The GitHub client against the loopback stand-in: what it sends, and what it trusts."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from gitops.errors import UsageError
from gitops.github.client import GitHubClient, GitHubError
from gitops.github.standin import GitHubStandIn
from gitops.github.transport import RetryPolicy

MARKER = "<!-- gitops-plan-comment "
BOT = "github-actions[bot]"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        yield standin


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(github: GitHubStandIn, waits: list[float]) -> GitHubClient:
    """Waits are recorded, not slept: a lookup that waits for GitHub stays instant here."""
    return GitHubClient(github.url, github.repository, github.token,
                        retry=RetryPolicy(sleep=waits.append))  # fmt: skip


def test_the_plan_comment_is_created_once_then_updated_in_place(github, client) -> None:
    number = github.open_pull_request("change", head="feature")
    action, first = client.upsert_comment(number, MARKER, f"{MARKER}{{}} -->\nfirst")
    assert action == "created"
    action, second = client.upsert_comment(number, MARKER, f"{MARKER}{{}} -->\nsecond")
    assert action == "updated" and second["id"] == first["id"]
    (comment,) = github.comments(number)
    assert comment["body"].endswith("second") and comment["user"]["login"] == BOT
    patches = [r for r in github.requests if r.method == "PATCH"]
    assert patches[0].path.endswith(f"/issues/comments/{first['id']}")
    assert all(r.token == github.token for r in github.requests)


def test_a_marked_comment_by_anyone_else_is_never_taken_for_ours(github, client) -> None:
    number = github.open_pull_request("change", head="feature")
    github.add_comment(number, f"{MARKER}{{}} --> forged", login="mallory")
    action, _ = client.upsert_comment(number, MARKER, f"{MARKER}{{}} --> real")
    assert action == "created"
    bodies = [c["body"] for c in github.comments(number)]
    assert bodies == [f"{MARKER}{{}} --> forged", f"{MARKER}{{}} --> real"]


def test_our_comment_is_found_beyond_the_first_page(github, client) -> None:
    number = github.open_pull_request("busy", head="feature")
    for index in range(150):
        github.add_comment(number, f"review {index}", login="reviewer")
    github.add_comment(number, f"{MARKER}{{}} --> old plan", login=BOT, user_type="Bot")
    action, _ = client.upsert_comment(number, MARKER, f"{MARKER}{{}} --> new plan")
    assert action == "updated"
    assert github.comments(number)[-1]["body"] == f"{MARKER}{{}} --> new plan"
    pages = [r.query.get("page") for r in github.requests if r.method == "GET"]
    assert "2" in pages, "the second page was never asked for"


def test_the_pull_request_of_a_merge_commit(github, client, waits) -> None:
    number = github.open_pull_request("change", head="feature")
    merge_commit = github.merge_pull_request(number)
    assert client.merged_pull_request(merge_commit)["number"] == number
    assert waits == []
    github.add_file("README.md", "pushed straight to main\n")
    assert client.merged_pull_request(github.branch_sha("main")) is None
    assert waits == [2.0, 4.0, 8.0, 16.0], "a direct push is concluded after bounded waits"


@pytest.mark.parametrize(
    ("listed", "expected_waits"),
    # Listed unmerged: the second listing still lags, its confirmation no longer does.
    [(False, [2.0, 4.0]), (True, [2.0])],
    ids=["not listed yet", "listed unmerged"],
)
def test_a_merge_github_has_not_associated_yet_is_found_after_waiting(
    github, client, waits, listed, expected_waits
) -> None:
    number = github.open_pull_request("change", head="feature")
    merge_commit = github.merge_pull_request(number)
    github.lag_merges(2, listed=listed)
    pull = client.merged_pull_request(merge_commit)
    assert pull is not None and pull["number"] == number and pull["merged"] is True
    assert pull["merge_commit_sha"] == merge_commit
    assert waits == expected_waits
    confirmations = [r for r in github.requests if r.path.endswith(f"/pulls/{number}")]
    assert confirmations, "the pull request is confirmed with GET /pulls/{n}"


def test_tracking_issue_opens_updates_and_closes(github, client) -> None:
    marker = "<!-- gitops-drift dev -->"
    client.call("POST", "/issues", {"title": "another", "body": "<!-- gitops-drift prod -->"})
    assert client.sync_issue(marker, "Drift in dev", "plan one", ("drift",))[0] == "opened"
    action, issue = client.sync_issue(marker, "Drift in dev", "plan two", ("drift",))
    assert action == "updated"
    assert "plan two" in next(i for i in github.issues() if i["number"] == issue["number"])["body"]
    open_titles = [i["title"] for i in github.issues("open")]
    assert open_titles.count("Drift in dev") == 1
    assert client.sync_issue(marker, "", None, ("drift",))[0] == "closed"
    assert client.sync_issue(marker, "", None, ("drift",)) == ("none", None)
    assert "Drift in dev" not in [i["title"] for i in github.issues("open")]
    assert [i["title"] for i in github.issues("open")] == ["another"], "another marker's issue"


def test_promotion_branch_file_and_pull_request(github, client) -> None:
    github.add_file("environments/staging.yaml", "release:\n  app_version: 1\n")
    source = github.branch_sha("main")
    action, pull = client.open_pull_request(
        "promote/staging/2-abc",
        "main",
        {"environments/staging.yaml": b"release:\n  app_version: 2\n"},
        "Promote 2",
        "what moves",
        source,
    )
    assert action == "opened"
    assert pull["head"]["ref"] == "promote/staging/2-abc" and pull["body"] == "what moves"
    on_branch = github.file_text("environments/staging.yaml", "promote/staging/2-abc")
    assert "app_version: 2" in on_branch
    assert "app_version: 1" in github.file_text("environments/staging.yaml", "main")
    again, same = client.open_pull_request("promote/staging/2-abc", "main", {}, "again", "",
                                           source)  # fmt: skip
    assert (again, same["number"]) == ("already open", pull["number"])


def test_failures_are_one_line_naming_the_call(github, client) -> None:
    wrong = GitHubClient(github.url, github.repository, "not-the-token")
    with pytest.raises(GitHubError, match=r"^GitHub GET /repos/.+/commits/abc/pulls: 401 Bad"):
        wrong.merged_pull_request("abc")
    github.fail_next("POST", "/repos", 422, "Validation Failed")
    with pytest.raises(GitHubError, match="422 Validation Failed") as failed:
        client.call("POST", "/issues", {"title": "x"})
    assert failed.value.status == 422 and "\n" not in str(failed.value)
    # A port held bound but not listening refuses every connection, and stays ours meanwhile.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        address = f"http://127.0.0.1:{held.getsockname()[1]}"
        nobody = GitHubClient(address, github.repository, "t", retry=RetryPolicy(attempts=1))
        with pytest.raises(GitHubError, match="no answer") as unreachable:
            nobody.call("GET", "/pulls")
    assert unreachable.value.status == 0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GITHUB_TOKEN": "t"}, "GITHUB_REPOSITORY: expected OWNER/NAME, got ''"),
        ({"GITHUB_REPOSITORY": "no-slash", "GITHUB_TOKEN": "t"}, "got 'no-slash'"),
        ({"GITHUB_REPOSITORY": "acme/repo"}, "GITHUB_TOKEN is not set"),
    ],
)
def test_client_settings_from_the_environment_are_checked(environ, message) -> None:
    with pytest.raises(UsageError, match=message):
        GitHubClient.from_environment(environ)
    settings = {"GITHUB_REPOSITORY": "acme/repo", "GITHUB_TOKEN": "t", "GITOPS_BOT_LOGIN": "app"}
    client = GitHubClient.from_environment(settings)
    assert (client.api_url, client.bot_login) == ("https://api.github.com", "app")
