"""The GitHub stand-in over real HTTP: the pipeline's tests and rehearsal trust its answers."""

from __future__ import annotations

import base64
import json
import re
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from gitops.github.standin import GitHubStandIn, RecordedRequest

TOKEN = "test-token"  # pragma: allowlist secret
REPO = "/repos/acme/fraud-detection"
BOT = {"login": "github-actions[bot]", "type": "Bot"}


@pytest.fixture
def standin():
    with GitHubStandIn(token=TOKEN) as server:
        yield server


@pytest.fixture
def call(standin: GitHubStandIn):
    """`call(method, path, body=None, token=TOKEN)` -> (status, JSON, headers); path or URL."""

    def call(method: str, path: str, body: Any = None, token: str | None = TOKEN, raw=None):
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        url = path if path.startswith("http") else standin.url + path
        request = urllib.request.Request(url, data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read()), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers

    return call


def next_url(link: str) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', link)
    return found[1] if found else None


def test_requests_without_the_right_token_are_refused(standin, call) -> None:
    assert call("GET", f"{REPO}/issues", token=None)[:2] == (401, {"message": "Bad credentials"})
    assert call("GET", f"{REPO}/issues", token="wrong")[0] == 401  # pragma: allowlist secret
    assert call("GET", f"{REPO}/issues")[0] == 200
    assert [r.token for r in standin.requests] == [None, "wrong", TOKEN]


def test_comments_are_created_listed_and_updated_as_the_bot(standin, call) -> None:
    number = standin.open_pull_request("Plan", head="feature/plan")
    status, created, _ = call("POST", f"{REPO}/issues/{number}/comments", {"body": "plan v1"})
    assert status == 201 and created["user"] == BOT and created["body"] == "plan v1"
    assert created["html_url"].endswith(f"/pull/{number}#issuecomment-{created['id']}")

    status, updated, _ = call("PATCH", f"{REPO}/issues/comments/{created['id']}", {"body": "v2"})
    assert status == 200 and updated["body"] == "v2"
    assert updated["updated_at"] > created["updated_at"]
    assert call("GET", f"{REPO}/issues/{number}/comments")[1] == [updated]
    assert standin.comments(number) == [updated]

    assert call("GET", f"{REPO}/issues/999/comments")[0] == 404
    assert call("PATCH", f"{REPO}/issues/comments/999999", {"body": "x"})[0] == 404


def test_pagination_follows_the_link_header_to_the_end(standin, call) -> None:
    number = standin.open_pull_request("Plan", head="feature/plan")
    ids = [standin.add_comment(number, f"comment {i}", "octocat") for i in range(5)]
    seen, url, pages = [], f"{REPO}/issues/{number}/comments?per_page=2", 0
    while url:
        status, page, headers = call("GET", url)
        assert status == 200
        seen += [comment["id"] for comment in page]
        url = next_url(headers.get("Link", ""))
        pages += 1
    assert seen == ids and pages == 3
    assert 'rel="last"' in call("GET", f"{REPO}/issues/{number}/comments?per_page=2")[2]["Link"]


def test_commit_pulls_find_a_merged_pull_request_by_its_merge_commit(standin, call) -> None:
    standin.add_file("environments/prod.yaml", "image: v1\n")
    number = standin.open_pull_request("Promote", head="promote/prod")
    standin.add_file("environments/prod.yaml", "image: v2\n", branch="promote/prod")
    head_sha = standin.branch_sha("promote/prod")
    standin.add_file("README.md", "moved on\n")  # main moves on; the merge keeps this too

    merge_sha = standin.merge_pull_request(number)
    assert len(merge_sha) == 40 and standin.branch_sha("main") == merge_sha
    assert standin.file_text("environments/prod.yaml") == "image: v2\n"
    assert standin.file_text("README.md") == "moved on\n"

    for sha in (merge_sha, head_sha):
        status, pulls, _ = call("GET", f"{REPO}/commits/{sha}/pulls")
        assert status == 200 and [p["number"] for p in pulls] == [number]
        assert pulls[0]["state"] == "closed" and pulls[0]["merged_at"] is not None
    assert call("GET", f"{REPO}/commits/{'0' * 40}/pulls")[1] == []


def test_lagging_merges_hide_the_merge_for_the_next_lookups_only(standin, call) -> None:
    number = standin.open_pull_request("Change", head="change")
    merge_sha = standin.merge_pull_request(number)
    standin.lag_merges(1)
    assert call("GET", f"{REPO}/commits/{merge_sha}/pulls")[1] == []
    assert [p["number"] for p in call("GET", f"{REPO}/commits/{merge_sha}/pulls")[1]] == [number]
    standin.lag_merges(1, listed=True)
    (listed,) = call("GET", f"{REPO}/commits/{merge_sha}/pulls")[1]
    assert (listed["merged"], listed["merge_commit_sha"]) == (False, None)
    pull = call("GET", f"{REPO}/pulls/{number}")[1]
    assert (pull["merged"], pull["merge_commit_sha"]) == (True, merge_sha), "lag over"


def test_workflow_runs_are_described_with_githubs_fields(standin, call) -> None:
    running = standin.add_workflow_run(".github/workflows/pr.yml", "a" * 40, head_branch="change")
    status, run, _ = call("GET", f"{REPO}/actions/runs/{running}")
    assert status == 200 and run["id"] == running and run["event"] == "pull_request"
    assert (run["path"], run["head_sha"], run["status"], run["conclusion"]) == (
        ".github/workflows/pr.yml", "a" * 40, "in_progress", None)  # fmt: skip
    assert run["head_repository"]["full_name"] == "acme/fraud-detection"
    standin.finish_workflow_run(running, "failure")
    finished = call("GET", f"{REPO}/actions/runs/{running}")[1]
    assert (finished["status"], finished["conclusion"]) == ("completed", "failure")
    assert finished["updated_at"] > run["updated_at"]
    fork = standin.add_workflow_run(
        ".github/workflows/pr.yml", "b" * 40, head_repository="mallory/fraud-detection"
    )
    forked = call("GET", f"{REPO}/actions/runs/{fork}")[1]
    assert forked["head_repository"]["full_name"] == "mallory/fraud-detection"
    assert call("GET", f"{REPO}/actions/runs/1")[0] == 404


def test_environments_show_their_protection_rules(standin, call) -> None:
    assert call("GET", f"{REPO}/environments/prod")[0] == 404
    standin.add_environment("staging", wait_timer=10)
    standin.add_environment("prod", ("alice", "bob"), prevent_self_review=True)
    status, staging, _ = call("GET", f"{REPO}/environments/staging")
    assert status == 200 and staging["name"] == "staging"
    assert [rule["type"] for rule in staging["protection_rules"]] == ["wait_timer"]
    (reviewers,) = call("GET", f"{REPO}/environments/prod")[1]["protection_rules"]
    assert reviewers["type"] == "required_reviewers" and reviewers["prevent_self_review"] is True
    assert [r["reviewer"]["login"] for r in reviewers["reviewers"]] == ["alice", "bob"]


def test_compare_says_how_a_branch_stands_to_a_commit(standin, call) -> None:
    standin.add_file("a.txt", "one\n")
    start = standin.branch_sha("main")
    call("POST", f"{REPO}/git/refs", {"ref": "refs/heads/side", "sha": start})
    assert call("GET", f"{REPO}/compare/{start}...side")[1]["status"] == "identical"
    standin.add_file("b.txt", "two\n", branch="side")
    ahead = call("GET", f"{REPO}/compare/{start}...side")[1]
    assert (ahead["status"], ahead["ahead_by"], ahead["behind_by"]) == ("ahead", 1, 0)
    assert [c["commit"]["message"] for c in ahead["commits"]] == ["Add b.txt"]
    assert [f["filename"] for f in ahead["files"]] == ["b.txt"]
    standin.add_file("c.txt", "three\n")
    diverged = call("GET", f"{REPO}/compare/main...side")[1]
    assert diverged["status"] == "diverged" and diverged["merge_base_commit"]["sha"] == start
    assert call("GET", f"{REPO}/compare/side...{start}")[1]["status"] == "behind"
    assert call("GET", f"{REPO}/compare/{'f' * 40}...main")[0] == 404


def test_pull_requests_from_actions_can_be_switched_off(standin, call) -> None:
    call(
        "POST", f"{REPO}/git/refs", {"ref": "refs/heads/promote", "sha": standin.branch_sha("main")}
    )
    standin.allow_actions_pull_requests(False)
    status, answer, _ = call(
        "POST", f"{REPO}/pulls", {"title": "t", "head": "promote", "base": "main"}
    )
    assert status == 403 and "not permitted to create or approve pull requests" in answer["message"]
    standin.allow_actions_pull_requests(True)
    assert (
        call("POST", f"{REPO}/pulls", {"title": "t", "head": "promote", "base": "main"})[0] == 201
    )


def test_issues_filter_by_state_labels_and_creator(standin, call) -> None:
    both = call("POST", f"{REPO}/issues", {"title": "Drift", "labels": ["drift", "prod"]})[1]
    call("POST", f"{REPO}/issues", {"title": "Other", "labels": ["drift"]})
    pr = standin.open_pull_request("A change", head="change", author="alice")
    assert call("POST", f"{REPO}/issues", {"body": "no title"})[0] == 422

    assert both["state"] == "open" and both["labels"] == [{"name": "drift"}, {"name": "prod"}]
    assert [i["number"] for i in call("GET", f"{REPO}/issues?labels=drift,prod")[1]] == [1]
    listed = call("GET", f"{REPO}/issues")[1]
    assert [i["number"] for i in listed] == [pr, 2, 1]
    assert "pull_request" in listed[0] and "pull_request" not in listed[1]
    assert [i["number"] for i in call("GET", f"{REPO}/issues?creator=alice")[1]] == [pr]

    status, closed, _ = call("PATCH", f"{REPO}/issues/1", {"state": "closed", "labels": ["done"]})
    assert status == 200 and closed["state"] == "closed" and closed["closed_at"]
    assert [i["number"] for i in call("GET", f"{REPO}/issues?state=closed")[1]] == [1]
    assert [i["number"] for i in call("GET", f"{REPO}/issues?labels=drift")[1]] == [2]
    assert [i["number"] for i in standin.issues(state="open")] == [2]


def test_refs_are_created_once(standin, call) -> None:
    main_sha = standin.branch_sha("main")
    ref = {"ref": "refs/heads/promote/prod", "sha": main_sha}
    status, created, _ = call("POST", f"{REPO}/git/refs", ref)
    assert status == 201 and created["object"] == {"sha": main_sha, "type": "commit"}
    assert call("GET", f"{REPO}/git/ref/heads/promote/prod")[1] == created
    assert call("POST", f"{REPO}/git/refs", ref)[:2] == (
        422,
        {"message": "Reference already exists"},
    )
    assert call("POST", f"{REPO}/git/refs", {"ref": "refs/heads/x", "sha": "f" * 40})[0] == 422
    assert call("GET", f"{REPO}/git/ref/heads/missing")[0] == 404


def test_contents_update_checks_the_blob_sha_and_stays_on_its_branch(standin, call) -> None:
    standin.add_file("environments/prod.yaml", "hello\n")
    standin.open_pull_request("Promote", head="promote/prod")
    status, file, _ = call("GET", f"{REPO}/contents/environments/prod.yaml?ref=promote/prod")
    assert status == 200 and base64.b64decode(file["content"]) == b"hello\n"
    hello_blob = "ce013625030ba8dba906f756967f9e9ca394464a"  # pragma: allowlist secret
    assert file["sha"] == hello_blob, "the blob sha `git hash-object` gives"

    put = {"message": "Promote", "branch": "promote/prod", "sha": "0" * 40}
    put["content"] = base64.b64encode(b"image: v2\n").decode()
    assert call("PUT", f"{REPO}/contents/environments/prod.yaml", put)[0] == 409
    head_before = standin.branch_sha("promote/prod")
    status, written, _ = call(
        "PUT", f"{REPO}/contents/environments/prod.yaml", {**put, "sha": file["sha"]}
    )
    assert status == 200 and written["commit"]["sha"] == standin.branch_sha("promote/prod")
    assert written["commit"]["sha"] != head_before
    assert standin.file_text("environments/prod.yaml", branch="promote/prod") == "image: v2\n"
    assert standin.file_text("environments/prod.yaml") == "hello\n"

    assert call("PUT", f"{REPO}/contents/new.txt", {**put, "sha": None})[0] == 201
    assert call("PUT", f"{REPO}/contents/x.txt", {**put, "branch": "nope"})[0] == 404
    assert call("GET", f"{REPO}/contents/missing.txt")[0] == 404


def test_pull_requests_are_created_once_per_head(standin, call) -> None:
    main_sha = standin.branch_sha("main")
    call("POST", f"{REPO}/git/refs", {"ref": "refs/heads/promote", "sha": main_sha})
    pull = {"title": "Promote", "head": "promote", "base": "main", "body": "why"}
    status, created, _ = call("POST", f"{REPO}/pulls", pull)
    assert status == 201 and created["user"] == BOT and created["merge_commit_sha"] is None
    assert created["head"]["ref"] == "promote" and created["base"]["ref"] == "main"
    assert call("POST", f"{REPO}/pulls", pull)[:2] == (
        422,
        {"message": "A pull request already exists for acme:promote."},
    )
    assert call("POST", f"{REPO}/pulls", {**pull, "head": "missing"})[0] == 422

    assert call("GET", f"{REPO}/pulls?head=acme:promote")[1] == [created]
    assert call("GET", f"{REPO}/pulls?head=acme:other")[1] == []
    assert call("GET", f"{REPO}/pulls/{created['number']}")[1] == created
    assert call("GET", f"{REPO}/pulls/999")[0] == 404
    assert standin.pull_requests() == [created]


def test_fail_next_fails_only_the_next_matching_request(standin, call) -> None:
    standin.fail_next("post", f"{REPO}/issues", 502, "Server Error")
    assert call("GET", f"{REPO}/issues")[0] == 200
    assert call("POST", f"{REPO}/issues", {"title": "t"})[:2] == (502, {"message": "Server Error"})
    assert call("POST", f"{REPO}/issues", {"title": "t"})[0] == 201


def test_unknown_routes_other_repositories_and_bad_json(call) -> None:
    assert call("GET", f"{REPO}/actions/runs")[:2] == (404, {"message": "Not Found"})
    assert call("DELETE", f"{REPO}/issues/1")[0] == 404
    assert call("GET", "/repos/acme/other/issues")[0] == 404
    assert call("POST", f"{REPO}/issues", raw=b"{not json")[0] == 400


def test_requests_are_recorded_with_query_body_and_token(standin, call) -> None:
    call("POST", f"{REPO}/issues", {"title": "t"})
    call("GET", f"{REPO}/issues?state=all&per_page=5", token="other")  # pragma: allowlist secret
    assert standin.requests == [
        RecordedRequest("POST", f"{REPO}/issues", {}, {"title": "t"}, TOKEN),
        RecordedRequest("GET", f"{REPO}/issues", {"state": "all", "per_page": "5"}, None, "other"),
    ]


def test_parallel_clients_get_distinct_numbers(standin, call) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda i: call("POST", f"{REPO}/issues", {"title": i}), "a" * 64))
    assert {status for status, _, _ in replies} == {201}
    assert sorted(issue["number"] for _, issue, _ in replies) == list(range(1, 65))
    assert len(standin.requests) == 64


def test_stop_is_idempotent_and_frees_the_port() -> None:
    standin = GitHubStandIn().start()
    port = int(standin.url.rsplit(":", 1)[1])
    standin.stop()
    standin.stop()
    # Bound at once and held: another process on the machine cannot take it in between, and
    # a port bound but not listening refuses connections.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
