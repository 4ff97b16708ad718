"""The REST routes the pipeline calls, one function each, over the in-memory repository.

A handler takes the repository and the call and returns a reply; callers hold the lock.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from gitops.github.standin.actions import ACTIONS_ROUTES
from gitops.github.standin.records import ApiError, Call, Reply
from gitops.github.standin.repository import Repository
from gitops.github.standin.request_fields import (
    blob_sha,
    decoded_content,
    int_param,
    json_object,
    label_names,
    optional_str,
    required_str,
)

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

Handler = Callable[[Repository, Call], Reply]


def paginated(repo: Repository, call: Call, items: list[Any]) -> Reply:
    per_page = int_param(call.query, "per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    page = int_param(call.query, "page", 1)
    last = max(1, math.ceil(len(items) / per_page))
    headers = {}
    if page < last:
        base = f"{repo.api_url()}{call.path}"
        links = [(page + 1, "next"), (last, "last")]
        headers["Link"] = ", ".join(
            f'<{base}?{urlencode({**call.query, "page": n})}>; rel="{rel}"' for n, rel in links
        )
    start = (page - 1) * per_page
    return Reply(200, items[start : start + per_page], headers)


# --- comments ------------------------------------------------------------------------------


def list_comments(repo: Repository, call: Call) -> Reply:
    found = repo.comments_on(int(call.params["number"]))
    return paginated(repo, call, [repo.comment_json(c) for c in found])


def post_comment(repo: Repository, call: Call) -> Reply:
    text = required_str(json_object(call.body), "body")
    comment = repo.create_comment(int(call.params["number"]), text, repo.bot)
    return Reply(201, repo.comment_json(comment))


def patch_comment(repo: Repository, call: Call) -> Reply:
    text = required_str(json_object(call.body), "body")
    comment = repo.comments.get(int(call.params["comment_id"]))
    if comment is None:
        raise ApiError(404, "Not Found")
    comment.body, comment.updated_at = text, repo.tick()
    return Reply(200, repo.comment_json(comment))


# --- issues --------------------------------------------------------------------------------


def list_issues(repo: Repository, call: Call) -> Reply:
    labels = [name for name in call.query.get("labels", "").split(",") if name]
    found = repo.find_issues(
        state=call.query.get("state", "open"),
        labels=labels,
        creator=call.query.get("creator"),
    )
    return paginated(repo, call, [repo.issue_json(i) for i in found])


def post_issue(repo: Repository, call: Call) -> Reply:
    body = json_object(call.body)
    issue = repo.new_issue(
        required_str(body, "title"),
        optional_str(body, "body"),
        repo.bot,
        label_names(body.get("labels", [])),
    )
    return Reply(201, repo.issue_json(issue))


def patch_issue(repo: Repository, call: Call) -> Reply:
    body = json_object(call.body)
    issue = repo.issue(int(call.params["number"]))
    if "title" in body:
        issue.title = required_str(body, "title")
    if "body" in body:
        issue.body = optional_str(body, "body")
    if "labels" in body:
        issue.labels = label_names(body["labels"])
    if "state" in body:
        if body["state"] not in ("open", "closed"):
            raise ApiError(422, "Validation Failed: state must be open or closed")
        repo.set_state(issue, body["state"], optional_str(body, "state_reason"))
    issue.updated_at = repo.tick()
    return Reply(200, repo.issue_json(issue))


# --- refs and contents ---------------------------------------------------------------------


def ref_json(branch: str, sha: str) -> dict[str, Any]:
    return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}


def get_ref(repo: Repository, call: Call) -> Reply:
    branch = call.params["branch"]
    if branch not in repo.branches:
        raise ApiError(404, "Not Found")
    return Reply(200, ref_json(branch, repo.branches[branch]))


def post_ref(repo: Repository, call: Call) -> Reply:
    body = json_object(call.body)
    ref, sha = required_str(body, "ref"), required_str(body, "sha")
    if not ref.startswith("refs/heads/") or ref == "refs/heads/":
        raise ApiError(422, "Reference name is not a branch under refs/heads/")
    branch = ref.removeprefix("refs/heads/")
    if branch in repo.branches:
        raise ApiError(422, "Reference already exists")
    if sha not in repo.commits:
        raise ApiError(422, "Object does not exist")
    repo.branches[branch] = sha
    return Reply(201, ref_json(branch, sha))


def get_contents(repo: Repository, call: Call) -> Reply:
    ref = call.query.get("ref") or repo.default_branch
    sha = repo.branches.get(ref) or (ref if ref in repo.commits else None)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = call.params["path"].strip("/")
    text = repo.commits[sha].tree.get(path)
    if text is None:
        raise ApiError(404, "Not Found")
    data = text.encode()
    return Reply(200, {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": blob_sha(data),
        "size": len(data),
        "encoding": "base64",
        "content": base64.encodebytes(data).decode(),  # wrapped in lines, as GitHub does
    })  # fmt: skip


def put_contents(repo: Repository, call: Call) -> Reply:
    body = json_object(call.body)
    message, text = required_str(body, "message"), decoded_content(body)
    branch = optional_str(body, "branch") or repo.default_branch
    path = call.params["path"].strip("/")
    if branch not in repo.branches:
        raise ApiError(404, f"Branch {branch} not found")
    current = repo.commits[repo.branches[branch]].tree.get(path)
    if current is not None:
        expected = blob_sha(current.encode())
        given = optional_str(body, "sha")
        if given is None:
            raise ApiError(422, 'Invalid request. "sha" wasn\'t supplied.')
        if given != expected:
            raise ApiError(409, f"{path} does not match {given}")
    commit = repo.commit_to(branch, {path: text}, message)
    return Reply(200 if current is not None else 201, {
        "content": {"type": "file", "path": path, "sha": blob_sha(text.encode())},
        "commit": {"sha": commit.sha, "message": message},
    })  # fmt: skip


def compare(repo: Repository, call: Call) -> Reply:
    """`GET /compare/{base}...{head}`: how head stands to base, the commits only head has
    (oldest first) and the files head changed since their merge base."""
    base_ref, separator, head_ref = call.params["spec"].partition("...")
    if not separator:
        raise ApiError(404, "Not Found")
    base, head = repo.resolve(base_ref), repo.resolve(head_ref)
    on_base, on_head = repo.ancestors(base), repo.ancestors(head)
    merge_base = next(sha for sha in on_head if sha in set(on_base))
    ahead = [sha for sha in on_head if sha not in set(on_base)]
    behind = [sha for sha in on_base if sha not in set(on_head)]
    if base == head:
        status = "identical"
    elif not behind:
        status = "ahead"
    elif not ahead:
        status = "behind"
    else:
        status = "diverged"
    before, after = repo.commits[merge_base].tree, repo.commits[head].tree
    changed = sorted(path for path in {*before, *after} if before.get(path) != after.get(path))
    return Reply(200, {
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "merge_base_commit": {"sha": merge_base},
        "commits": [{"sha": sha, "commit": {"message": repo.commits[sha].message}}
                    for sha in reversed(ahead)],
        "files": [{"filename": path} for path in changed],
    })  # fmt: skip


# --- pull requests -------------------------------------------------------------------------


def pulls_for_commit(repo: Repository, call: Call) -> Reply:
    """The pull requests a commit belongs to; for a while after a merge (`merge_lag`), GitHub's
    association lags: the merged one is missing, or listed as not merged yet."""
    sha = call.params["sha"]
    lagging = repo.merge_lag > 0
    repo.merge_lag = max(0, repo.merge_lag - 1)
    found = [
        i
        for i in repo.find_issues(state="all", pulls_only=True)
        if i.pull is not None and sha in (i.pull.merge_commit_sha, repo.head_sha(i.pull))
    ]
    if lagging and not repo.merge_lag_listed:
        found = [i for i in found if i.pull is not None and i.pull.merge_commit_sha != sha]
    merged_late = lagging and repo.merge_lag_listed
    return paginated(repo, call, [repo.pull_json(i, merged_late) for i in found])


def list_pulls(repo: Repository, call: Call) -> Reply:
    found = repo.find_issues(state=call.query.get("state", "open"), pulls_only=True)
    if "head" in call.query:
        found = [i for i in found if i.pull and repo.head_label(i.pull) == call.query["head"]]
    if "base" in call.query:
        found = [i for i in found if i.pull and i.pull.base_ref == call.query["base"]]
    return paginated(repo, call, [repo.pull_json(i) for i in found])


def post_pull(repo: Repository, call: Call) -> Reply:
    if not repo.actions_can_open_pulls:
        raise ApiError(403, "GitHub Actions is not permitted to create or approve pull requests.")
    body = json_object(call.body)
    head = required_str(body, "head")
    owner, _, branch = head.rpartition(":")
    if owner not in ("", repo.owner):
        raise ApiError(422, "Validation Failed: pull requests from forks are not supported")
    issue = repo.create_pull(
        required_str(body, "title"),
        branch,
        required_str(body, "base"),
        optional_str(body, "body"),
        repo.bot,
    )
    return Reply(201, repo.pull_json(issue))


def get_pull(repo: Repository, call: Call) -> Reply:
    lagging = repo.merge_lag > 0 and repo.merge_lag_listed
    return Reply(200, repo.pull_json(repo.pull_issue(int(call.params["number"])), lagging))


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("GET", r"/issues/(?P<number>\d+)/comments", list_comments),
        ("POST", r"/issues/(?P<number>\d+)/comments", post_comment),
        ("PATCH", r"/issues/comments/(?P<comment_id>\d+)", patch_comment),
        ("GET", r"/commits/(?P<sha>[^/]+)/pulls", pulls_for_commit),
        ("GET", r"/issues", list_issues),
        ("POST", r"/issues", post_issue),
        ("PATCH", r"/issues/(?P<number>\d+)", patch_issue),
        ("GET", r"/git/ref/heads/(?P<branch>.+)", get_ref),
        ("POST", r"/git/refs", post_ref),
        ("GET", r"/contents/(?P<path>.+)", get_contents),
        ("PUT", r"/contents/(?P<path>.+)", put_contents),
        ("GET", r"/compare/(?P<spec>.+)", compare),
        ("GET", r"/pulls", list_pulls),
        ("POST", r"/pulls", post_pull),
        ("GET", r"/pulls/(?P<number>\d+)", get_pull),
        *ACTIONS_ROUTES,
    ]
]
"""(method, pattern on the path after /repos/{owner}/{repo}, handler)."""
