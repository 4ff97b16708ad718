"""The GitHub client under real faults: the stand-in answers 5xx, 429, a secondary rate limit
with `Retry-After`, a failing later page, a 200 that is not JSON, and a POST carried out whose
answer is lost. Promotion resumes a run that failed part-way."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gitops.github.client import GitHubClient, GitHubError
from gitops.github.standin import GitHubStandIn
from gitops.github.transport import RetryPolicy

MARKER = "<!-- gitops-drift dev -->"
BRANCH = "promote/staging/2-abc"
FILE = "environments/staging.yaml"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as standin:
        yield standin


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(github: GitHubStandIn, waits: list[float]) -> GitHubClient:
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    policy = RetryPolicy(base_seconds=0.05, max_wait_seconds=2.0, sleep=sleep)
    return GitHubClient(github.url, github.repository, github.token, retry=policy)


def sent(github: GitHubStandIn, method: str, path_end: str) -> int:
    return sum(r.method == method and r.path.endswith(path_end) for r in github.requests)


def test_server_errors_on_a_get_are_retried_with_doubling_waits(github, client, waits) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/pulls", 502, "Bad Gateway", times=3)
    assert client.call("GET", "/pulls") == []
    assert sent(github, "GET", "/pulls") == 4
    assert waits == [0.05, 0.1, 0.2]


def test_a_persistent_server_error_fails_in_one_line_after_the_attempts(github, client) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/pulls", 503, "Unavailable", times=9)
    with pytest.raises(GitHubError, match=r"503 Unavailable \(after 4 attempts\)$") as failed:
        client.call("GET", "/pulls")
    assert "\n" not in str(failed.value) and sent(github, "GET", "/pulls") == 4


def test_429_waits_as_long_as_retry_after_says(github, client, waits) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/pulls", 429, "Too Many Requests",
                     headers={"Retry-After": "1"})  # fmt: skip
    started = time.monotonic()
    assert client.call("GET", "/pulls") == []
    assert waits == [1.0] and time.monotonic() - started >= 1.0


def test_a_secondary_rate_limit_retries_even_a_post(github, client, waits) -> None:
    """A rate-limited request was not carried out, so repeating the POST is safe."""
    github.fail_next("POST", f"/repos/{github.repository}/issues", 403,
                     "You have exceeded a secondary rate limit",
                     headers={"Retry-After": "1"})  # fmt: skip
    assert client.sync_issue(MARKER, "Drift in dev", "plan", ("drift",))[0] == "opened"
    assert waits == [1.0] and sent(github, "POST", "/issues") == 2
    assert len(github.issues("open")) == 1


def test_a_wait_beyond_the_cap_fails_at_once_saying_when_to_rerun(github, client, waits) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/pulls", 403, "API rate limit exceeded",
                     headers={"X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(int(time.time()) + 3600)})  # fmt: skip
    with pytest.raises(
        GitHubError, match=r"403 API rate limit exceeded; GitHub asks to wait 3\d\d\ds"
    ):
        client.call("GET", "/pulls")
    assert waits == [] and sent(github, "GET", "/pulls") == 1


def test_a_post_answered_502_after_it_was_carried_out_is_not_sent_twice(github, client) -> None:
    github.fail_next("POST", f"/repos/{github.repository}/issues", 502, "Bad Gateway",
                     after_handling=True)  # fmt: skip
    action, issue = client.sync_issue(MARKER, "Drift in dev", "plan", ("drift",))
    assert action == "opened" and issue["title"] == "Drift in dev"
    assert sent(github, "POST", "/issues") == 1 and len(github.issues("open")) == 1


def test_a_post_that_failed_before_it_was_carried_out_is_sent_again(github, client) -> None:
    github.fail_next("POST", f"/repos/{github.repository}/issues", 500, "Server Error")
    assert client.sync_issue(MARKER, "Drift in dev", "plan", ("drift",))[0] == "opened"
    assert sent(github, "POST", "/issues") == 2 and len(github.issues("open")) == 1


def test_a_post_without_a_way_to_check_is_never_repeated(github, client) -> None:
    github.fail_next("POST", f"/repos/{github.repository}/issues", 502, "Bad Gateway",
                     after_handling=True)  # fmt: skip
    with pytest.raises(GitHubError, match="502 Bad Gateway; not repeated, it may have been"):
        client.call("POST", "/issues", {"title": "x"})
    assert sent(github, "POST", "/issues") == 1 and len(github.issues()) == 1


def test_an_error_on_a_later_page_fails_the_listing_and_acts_on_nothing(github, client) -> None:
    number = github.open_pull_request("busy", head="feature")
    for index in range(150):
        github.add_comment(number, f"review {index}", login="reviewer")
    github.add_comment(number, f"{MARKER} old", login="github-actions[bot]", user_type="Bot")
    github.fail_next("GET", f"/repos/{github.repository}/issues/{number}/comments", 500,
                     "Server Error", query={"page": "2"}, times=4)  # fmt: skip
    with pytest.raises(GitHubError, match=r"500 Server Error \(after 4 attempts\) \(page 2 of"):
        client.upsert_comment(number, MARKER, f"{MARKER} new")
    assert sent(github, "POST", "/comments") == 0, "a partial listing must not create a duplicate"
    github.fail_next("GET", f"/repos/{github.repository}/issues/{number}/comments", 500,
                     "Server Error", query={"page": "2"})  # fmt: skip
    assert client.upsert_comment(number, MARKER, f"{MARKER} new")[0] == "updated"


def test_a_200_that_is_not_json_is_one_line_naming_the_call(github, client) -> None:
    github.fail_next("GET", f"/repos/{github.repository}/pulls", 200, raw=b"<html>proxy</html>")
    with pytest.raises(GitHubError, match=r"^GitHub GET /repos/.+/pulls: answered 200 with a body"
                       r" that is not JSON \(text/html\)"):  # fmt: skip
        client.call("GET", "/pulls")


def open_promotion(
    client: GitHubClient, source: str | None, data: bytes = b"release:\n  app_version: 2\n"
):
    """The promotion of `data`, read from commit `source`."""
    assert source is not None
    return client.open_pull_request(BRANCH, "main", {FILE: data}, "Promote 2", "what moves", source)


def test_promotion_resumes_on_the_branch_a_failed_run_left(github, client) -> None:
    github.add_file(FILE, "release:\n  app_version: 1\n")
    github.fail_next("PUT", f"/repos/{github.repository}/contents/", 500, "Server Error", times=4)
    source = github.branch_sha("main")
    with pytest.raises(GitHubError, match=r"PUT .+/contents/environments/staging.yaml: 500"):
        open_promotion(client, source)
    assert github.branch_sha(BRANCH) is not None and github.pull_requests() == []
    action, pull = open_promotion(client, source)
    assert action == "opened" and pull["head"]["ref"] == BRANCH
    assert "app_version: 2" in github.file_text(FILE, BRANCH)
    assert "app_version: 1" in github.file_text(FILE, "main")


def test_promotion_whose_pull_request_answer_was_lost_opens_one(github, client) -> None:
    github.add_file(FILE, "release:\n  app_version: 1\n")
    github.fail_next("POST", f"/repos/{github.repository}/pulls", 502, "Bad Gateway",
                     after_handling=True)  # fmt: skip
    source = github.branch_sha("main")
    action, pull = open_promotion(client, source)
    assert action == "opened"
    again, same = open_promotion(client, source)
    assert (again, same["number"]) == ("already open", pull["number"])
    assert len(github.pull_requests()) == 1 and sent(github, "PUT", f"/contents/{FILE}") == 1


def test_promotion_of_a_file_missing_on_the_base_branch_creates_it(github, client) -> None:
    action, pull = open_promotion(client, github.branch_sha("main"))
    assert action == "opened" and pull["base"]["ref"] == "main"
    assert github.file_text(FILE, BRANCH) == "release:\n  app_version: 2\n"
    assert github.file_text(FILE, "main") is None


def test_promotion_refused_by_the_actions_setting_names_it_and_resumes(github, client) -> None:
    github.add_file(FILE, "release:\n  app_version: 1\n")
    source = github.branch_sha("main")
    github.allow_actions_pull_requests(False)
    with pytest.raises(GitHubError) as refused:
        open_promotion(client, source)
    message = str(refused.value)
    assert "\n" not in message and refused.value.status == 403
    assert message.startswith(f"GitHub POST /repos/{github.repository}/pulls: 403 GitHub Actions")
    assert '"Allow GitHub Actions to create and approve pull requests"' in message
    assert f"branch {BRANCH} is pushed" in message
    assert "app_version: 2" in github.file_text(FILE, BRANCH), "pushed before the 403"
    github.allow_actions_pull_requests(True)
    action, pull = open_promotion(client, source)  # the re-run, once the setting is on
    assert action == "opened" and pull["head"]["ref"] == BRANCH
    assert sent(github, "POST", "/git/refs") == 1 and sent(github, "PUT", f"/contents/{FILE}") == 1


def test_the_branch_starts_at_the_commit_the_file_was_read_from(github, client) -> None:
    github.add_file(FILE, "release:\r\n  app_version: 1\r\n")
    source = github.branch_sha("main")
    github.add_file("environments/prod.yaml", "merged meanwhile\n")  # main moves on
    open_promotion(client, source, b"release:\r\n  app_version: 2\r\n")
    (created,) = [r for r in github.requests if r.method == "POST" and r.path.endswith("/refs")]
    assert created.body == {"ref": f"refs/heads/{BRANCH}", "sha": source}
    assert github.file_text(FILE, BRANCH) == "release:\r\n  app_version: 2\r\n", "CRLF kept"
    assert github.file_text("environments/prod.yaml", BRANCH) is None, "nothing of main's since"
    compared = client.call("GET", f"/compare/main...{BRANCH}")
    assert [f["filename"] for f in compared["files"]] == [FILE]
    assert compared["merge_base_commit"]["sha"] == source


def test_a_source_commit_that_is_not_on_the_base_branch_is_refused(github, client) -> None:
    github.open_pull_request("side work", head="side")
    github.add_file("README.md", "unreviewed\n", branch="side")
    with pytest.raises(
        GitHubError,
        match=r"^commit \w{12}, which the files were read from, is"
        r" not on main: a pull request from it would bring other changes along",
    ):
        open_promotion(client, github.branch_sha("side"))
    with pytest.raises(GitHubError, match="is not on GitHub"):
        open_promotion(client, "f" * 40)
    assert github.branch_sha(BRANCH) is None


def test_a_branch_of_that_name_holding_other_work_is_not_written_to(github, client) -> None:
    github.add_file(FILE, "release:\n  app_version: 1\n")
    source = github.branch_sha("main")
    client.call("POST", "/git/refs", {"ref": f"refs/heads/{BRANCH}", "sha": source})
    github.add_file("notes.md", "someone's work\n", branch=BRANCH)
    with pytest.raises(GitHubError, match=f"branch {BRANCH} already exists and holds more than"):
        open_promotion(client, source)
    assert sent(github, "PUT", f"/contents/{FILE}") == 0 and github.pull_requests() == []
