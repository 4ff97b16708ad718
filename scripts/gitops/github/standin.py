"""An in-memory GitHub REST API, served on loopback, for tests and the offline rehearsal.

It covers only what the pipeline calls (comments, issues, refs, contents, pull requests), with
GitHub's field names, status codes and pagination, so the real HTTP client code runs unchanged
without a network or a token. Every request is recorded, so tests can assert on what was sent.

State lives in memory behind one lock; the seeding helpers (`add_file`, `open_pull_request`, ...)
change the same state the HTTP handlers do, without going over HTTP.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

CLOCK_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
"""Timestamps come from a fake clock that ticks one second per change: stable and ordered."""
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


class ApiError(Exception):
    """An error response; the seeding helpers raise it too, for the same mistakes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """As sent (still percent-encoded), without the query."""
    query: dict[str, str]
    body: Any | None
    """The parsed JSON body; None when there was none or it was not JSON."""
    token: str | None


@dataclass
class _Commit:
    sha: str
    message: str
    tree: dict[str, str]
    """Every file's text at this commit: a snapshot, so branches never share mutable state."""
    parents: tuple[str, ...]


@dataclass
class _Pull:
    head_ref: str
    base_ref: str
    head_sha: str | None = None
    """Frozen when the pull request closes; while open, the head branch's current commit."""
    merged_at: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class _Issue:
    """An issue, or a pull request when `pull` is set: they share numbers, as on GitHub."""

    number: int
    title: str
    body: str | None
    user: dict[str, str]
    created_at: str
    updated_at: str
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    pull: _Pull | None = None


@dataclass
class _Comment:
    id: int
    issue_number: int
    body: str
    user: dict[str, str]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class _Call:
    """One authenticated request to a route: what a handler needs."""

    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


_REPO_PATH = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)")
_ROUTES = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("GET", r"/issues/(?P<number>\d+)/comments", "_list_comments"),
        ("POST", r"/issues/(?P<number>\d+)/comments", "_post_comment"),
        ("PATCH", r"/issues/comments/(?P<comment_id>\d+)", "_patch_comment"),
        ("GET", r"/commits/(?P<sha>[^/]+)/pulls", "_pulls_for_commit"),
        ("GET", r"/issues", "_list_issues"),
        ("POST", r"/issues", "_post_issue"),
        ("PATCH", r"/issues/(?P<number>\d+)", "_patch_issue"),
        ("GET", r"/git/ref/heads/(?P<branch>.+)", "_get_ref"),
        ("POST", r"/git/refs", "_post_ref"),
        ("GET", r"/contents/(?P<path>.+)", "_get_contents"),
        ("PUT", r"/contents/(?P<path>.+)", "_put_contents"),
        ("GET", r"/pulls", "_list_pulls"),
        ("POST", r"/pulls", "_post_pull"),
        ("GET", r"/pulls/(?P<number>\d+)", "_get_pull"),
    ]
]
"""(method, pattern on the path after /repos/{owner}/{repo}, handler method name)."""


class GitHubStandIn:
    """The stand-in server. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(
        self,
        repository: str = "acme/fraud-detection",
        token: str = "standin-token",
        bot_login: str = "github-actions[bot]",
        default_branch: str = "main",
    ) -> None:
        self.repository = repository
        self.owner = repository.split("/")[0]
        self.token = token
        self.bot = {"login": bot_login, "type": "Bot"}
        self.default_branch = default_branch
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._requests: list[RecordedRequest] = []
        self._failures: list[tuple[str, str, int, str]] = []
        self._ticks = 0
        self._commit_count = 0
        self._last_number = 0
        self._last_comment_id = 1000
        self._commits: dict[str, _Commit] = {}
        self._issues: dict[int, _Issue] = {}
        self._comments: dict[int, _Comment] = {}
        root = self._new_commit("Initial commit", {}, ())
        self._branches = {default_branch: root.sha}

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        if self._server is not None:
            raise RuntimeError("the GitHub stand-in is already serving")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so that stop() returns quickly
            name="github-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the GitHub stand-in is not serving; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # --- seeding and inspection --------------------------------------------------------------

    def add_file(self, path: str, text: str, branch: str | None = None) -> None:
        with self._lock:
            self._commit_to(branch or self.default_branch, {path.strip("/"): text}, f"Add {path}")

    def file_text(self, path: str, branch: str | None = None) -> str | None:
        with self._lock:
            sha = self._branches.get(branch or self.default_branch)
            return None if sha is None else self._commits[sha].tree.get(path.strip("/"))

    def branch_sha(self, branch: str) -> str | None:
        with self._lock:
            return self._branches.get(branch)

    def open_pull_request(
        self,
        title: str,
        head: str,
        base: str | None = None,
        author: str = "octocat",
        body: str = "",
    ) -> int:
        base = base or self.default_branch
        with self._lock:
            if head not in self._branches:
                self._branches[head] = self._branch_head(base)
            user = {"login": author, "type": "User"}
            return self._create_pull(title, head, base, body, user).number

    def merge_pull_request(self, number: int) -> str:
        with self._lock:
            issue = self._pull_issue(number)
            pull = issue.pull
            if issue.state != "open" or pull is None:
                raise ApiError(405, "Pull Request is not mergeable")
            base_sha, head_sha = self._branch_head(pull.base_ref), self._branch_head(pull.head_ref)
            message = f"Merge pull request #{number} from {self.owner}/{pull.head_ref}"
            tree = self._merged_tree(base_sha, head_sha)
            merged = self._new_commit(message, tree, (base_sha, head_sha))
            self._branches[pull.base_ref] = merged.sha
            self._set_state(issue, "closed", "completed")
            pull.merged_at, pull.merge_commit_sha = issue.closed_at, merged.sha
            return merged.sha

    def add_comment(self, number: int, body: str, login: str, user_type: str = "User") -> int:
        with self._lock:
            return self._create_comment(number, body, {"login": login, "type": user_type}).id

    def comments(self, number: int) -> list[dict]:
        with self._lock:
            return [self._comment_json(c) for c in self._comments_on(number)]

    def issues(self, state: str = "all") -> list[dict]:
        with self._lock:
            found = self._find_issues(state=state)
            return [self._issue_json(i) for i in reversed(found) if i.pull is None]

    def pull_requests(self) -> list[dict]:
        with self._lock:
            return [self._pull_json(i) for i in self._issues.values() if i.pull is not None]

    def fail_next(self, method: str, path_prefix: str, status: int, message: str) -> None:
        with self._lock:
            self._failures.append((method.upper(), path_prefix, status, message))

    # --- HTTP dispatch ---------------------------------------------------------------------

    def _respond(self, method: str, target: str, authorization: str | None, raw: bytes) -> _Reply:
        path, _, query_string = target.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        body, body_is_json = _parse_json(raw)
        token = _bearer_token(authorization)
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, body, token))
            try:
                if token != self.token:
                    raise ApiError(401, "Bad credentials")
                self._raise_injected_failure(method, path)
                if not body_is_json:
                    raise ApiError(400, "Problems parsing JSON")
                return self._route(method, path, query, body)
            except ApiError as error:
                return _Reply(error.status, {"message": error.message})

    def _raise_injected_failure(self, method: str, path: str) -> None:
        for failure in self._failures:
            failure_method, prefix, status, message = failure
            if failure_method == method and path.startswith(prefix):
                self._failures.remove(failure)
                raise ApiError(status, message)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> _Reply:
        repo = _REPO_PATH.fullmatch(path)
        if repo is None or repo["repo"].lower() != self.repository.lower():
            raise ApiError(404, "Not Found")
        for route_method, pattern, handler in _ROUTES:
            found = pattern.fullmatch(repo["rest"])
            if found and route_method == method:
                params = {name: unquote(value) for name, value in found.groupdict().items()}
                return getattr(self, handler)(_Call(path, params, query, body))
        raise ApiError(404, "Not Found")

    def _paginated(self, call: _Call, items: list[Any]) -> _Reply:
        per_page = _int_param(call.query, "per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
        page = _int_param(call.query, "page", 1)
        last = max(1, math.ceil(len(items) / per_page))
        headers = {}
        if page < last:
            base = f"{self._api_url()}{call.path}"
            links = [(page + 1, "next"), (last, "last")]
            headers["Link"] = ", ".join(
                f'<{base}?{urlencode({**call.query, "page": n})}>; rel="{rel}"' for n, rel in links
            )
        start = (page - 1) * per_page
        return _Reply(200, items[start : start + per_page], headers)

    # --- handlers: comments ----------------------------------------------------------------

    def _list_comments(self, call: _Call) -> _Reply:
        found = self._comments_on(int(call.params["number"]))
        return self._paginated(call, [self._comment_json(c) for c in found])

    def _post_comment(self, call: _Call) -> _Reply:
        text = _required_str(_object(call.body), "body")
        comment = self._create_comment(int(call.params["number"]), text, self.bot)
        return _Reply(201, self._comment_json(comment))

    def _patch_comment(self, call: _Call) -> _Reply:
        text = _required_str(_object(call.body), "body")
        comment = self._comments.get(int(call.params["comment_id"]))
        if comment is None:
            raise ApiError(404, "Not Found")
        comment.body, comment.updated_at = text, self._tick()
        return _Reply(200, self._comment_json(comment))

    # --- handlers: issues ------------------------------------------------------------------

    def _list_issues(self, call: _Call) -> _Reply:
        labels = [name for name in call.query.get("labels", "").split(",") if name]
        found = self._find_issues(
            state=call.query.get("state", "open"),
            labels=labels,
            creator=call.query.get("creator"),
        )
        return self._paginated(call, [self._issue_json(i) for i in found])

    def _post_issue(self, call: _Call) -> _Reply:
        body = _object(call.body)
        issue = self._new_issue(
            _required_str(body, "title"),
            _optional_str(body, "body"),
            self.bot,
            _labels(body.get("labels", [])),
        )
        return _Reply(201, self._issue_json(issue))

    def _patch_issue(self, call: _Call) -> _Reply:
        body = _object(call.body)
        issue = self._issue(int(call.params["number"]))
        if "title" in body:
            issue.title = _required_str(body, "title")
        if "body" in body:
            issue.body = _optional_str(body, "body")
        if "labels" in body:
            issue.labels = _labels(body["labels"])
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise ApiError(422, "Validation Failed: state must be open or closed")
            self._set_state(issue, body["state"], _optional_str(body, "state_reason"))
        issue.updated_at = self._tick()
        return _Reply(200, self._issue_json(issue))

    # --- handlers: refs and contents -------------------------------------------------------

    def _get_ref(self, call: _Call) -> _Reply:
        branch = call.params["branch"]
        if branch not in self._branches:
            raise ApiError(404, "Not Found")
        return _Reply(200, _ref_json(branch, self._branches[branch]))

    def _post_ref(self, call: _Call) -> _Reply:
        body = _object(call.body)
        ref, sha = _required_str(body, "ref"), _required_str(body, "sha")
        if not ref.startswith("refs/heads/") or ref == "refs/heads/":
            raise ApiError(422, "Reference name is not a branch under refs/heads/")
        branch = ref.removeprefix("refs/heads/")
        if branch in self._branches:
            raise ApiError(422, "Reference already exists")
        if sha not in self._commits:
            raise ApiError(422, "Object does not exist")
        self._branches[branch] = sha
        return _Reply(201, _ref_json(branch, sha))

    def _get_contents(self, call: _Call) -> _Reply:
        ref = call.query.get("ref") or self.default_branch
        sha = self._branches.get(ref) or (ref if ref in self._commits else None)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        path = call.params["path"].strip("/")
        text = self._commits[sha].tree.get(path)
        if text is None:
            raise ApiError(404, "Not Found")
        data = text.encode()
        return _Reply(200, {
            "type": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob_sha(data),
            "size": len(data),
            "encoding": "base64",
            "content": base64.encodebytes(data).decode(),  # wrapped in lines, as GitHub does
        })  # fmt: skip

    def _put_contents(self, call: _Call) -> _Reply:
        body = _object(call.body)
        message, text = _required_str(body, "message"), _decoded_content(body)
        branch = _optional_str(body, "branch") or self.default_branch
        path = call.params["path"].strip("/")
        if branch not in self._branches:
            raise ApiError(404, f"Branch {branch} not found")
        current = self._commits[self._branches[branch]].tree.get(path)
        if current is not None:
            expected = blob_sha(current.encode())
            given = _optional_str(body, "sha")
            if given is None:
                raise ApiError(422, 'Invalid request. "sha" wasn\'t supplied.')
            if given != expected:
                raise ApiError(409, f"{path} does not match {given}")
        commit = self._commit_to(branch, {path: text}, message)
        return _Reply(200 if current is not None else 201, {
            "content": {"type": "file", "path": path, "sha": blob_sha(text.encode())},
            "commit": {"sha": commit.sha, "message": message},
        })  # fmt: skip

    # --- handlers: pull requests -----------------------------------------------------------

    def _pulls_for_commit(self, call: _Call) -> _Reply:
        sha = call.params["sha"]
        found = [
            i
            for i in self._find_issues(state="all", pulls_only=True)
            if sha in (i.pull.merge_commit_sha, self._head_sha(i.pull))
        ]
        return self._paginated(call, [self._pull_json(i) for i in found])

    def _list_pulls(self, call: _Call) -> _Reply:
        found = self._find_issues(state=call.query.get("state", "open"), pulls_only=True)
        if "head" in call.query:
            found = [i for i in found if self._head_label(i.pull) == call.query["head"]]
        if "base" in call.query:
            found = [i for i in found if i.pull.base_ref == call.query["base"]]
        return self._paginated(call, [self._pull_json(i) for i in found])

    def _post_pull(self, call: _Call) -> _Reply:
        body = _object(call.body)
        head = _required_str(body, "head")
        owner, _, branch = head.rpartition(":")
        if owner not in ("", self.owner):
            raise ApiError(422, "Validation Failed: pull requests from forks are not supported")
        issue = self._create_pull(
            _required_str(body, "title"),
            branch,
            _required_str(body, "base"),
            _optional_str(body, "body"),
            self.bot,
        )
        return _Reply(201, self._pull_json(issue))

    def _get_pull(self, call: _Call) -> _Reply:
        return _Reply(200, self._pull_json(self._pull_issue(int(call.params["number"]))))

    # --- state changes (callers hold the lock) ---------------------------------------------

    def _tick(self) -> str:
        self._ticks += 1
        moment = CLOCK_START + dt.timedelta(seconds=self._ticks)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _new_commit(self, message: str, tree: dict[str, str], parents: tuple[str, ...]) -> _Commit:
        self._commit_count += 1
        sha = hashlib.sha1(b"standin-commit-%d" % self._commit_count).hexdigest()
        self._commits[sha] = _Commit(sha, message, tree, parents)
        return self._commits[sha]

    def _commit_to(self, branch: str, changes: dict[str, str], message: str) -> _Commit:
        parent = self._branch_head(branch)
        commit = self._new_commit(message, {**self._commits[parent].tree, **changes}, (parent,))
        self._branches[branch] = commit.sha
        return commit

    def _merged_tree(self, base_sha: str, head_sha: str) -> dict[str, str]:
        """The base's files plus whatever the head changed since the two diverged."""
        on_base = set(self._ancestors(base_sha))
        fork = next(sha for sha in self._ancestors(head_sha) if sha in on_base)
        fork_tree = self._commits[fork].tree
        head_tree = self._commits[head_sha].tree
        changed = {path: text for path, text in head_tree.items() if fork_tree.get(path) != text}
        return {**self._commits[base_sha].tree, **changed}

    def _ancestors(self, sha: str) -> list[str]:
        """The commit and its ancestors, nearest first."""
        order: list[str] = []
        queue = [sha]
        while queue:
            current = queue.pop(0)
            if current not in order:
                order.append(current)
                queue.extend(self._commits[current].parents)
        return order

    def _new_issue(
        self, title: str, body: str | None, user: dict[str, str], labels: list[str]
    ) -> _Issue:
        self._last_number += 1
        now = self._tick()
        issue = _Issue(self._last_number, title, body, dict(user), now, now, labels)
        self._issues[issue.number] = issue
        return issue

    def _create_pull(
        self, title: str, head: str, base: str, body: str | None, user: dict[str, str]
    ) -> _Issue:
        if head not in self._branches:
            raise ApiError(422, f"Validation Failed: head branch {head} does not exist")
        if base not in self._branches:
            raise ApiError(422, f"Validation Failed: base branch {base} does not exist")
        open_pulls = self._find_issues(state="open", pulls_only=True)
        if any(i.pull.head_ref == head for i in open_pulls if i.pull is not None):
            raise ApiError(422, f"A pull request already exists for {self.owner}:{head}.")
        issue = self._new_issue(title, body, user, [])
        issue.pull = _Pull(head_ref=head, base_ref=base)
        return issue

    def _create_comment(self, number: int, body: str, user: dict[str, str]) -> _Comment:
        self._issue(number)
        self._last_comment_id += 1
        now = self._tick()
        comment = _Comment(self._last_comment_id, number, body, dict(user), now, now)
        self._comments[comment.id] = comment
        return comment

    def _set_state(self, issue: _Issue, state: str, reason: str | None) -> None:
        if issue.pull is not None and issue.pull.merged_at is not None:
            return  # a merged pull request stays closed, as on GitHub
        closing = state == "closed"
        issue.state, issue.state_reason = state, reason
        issue.closed_at = self._tick() if closing else None
        if issue.pull is not None:
            issue.pull.head_sha = self._branch_head(issue.pull.head_ref) if closing else None

    # --- lookups (callers hold the lock) ---------------------------------------------------

    def _branch_head(self, branch: str) -> str:
        if branch not in self._branches:
            raise ApiError(404, f"Branch {branch} not found")
        return self._branches[branch]

    def _issue(self, number: int) -> _Issue:
        if number not in self._issues:
            raise ApiError(404, "Not Found")
        return self._issues[number]

    def _pull_issue(self, number: int) -> _Issue:
        issue = self._issue(number)
        if issue.pull is None:
            raise ApiError(404, "Not Found")
        return issue

    def _comments_on(self, number: int) -> list[_Comment]:
        self._issue(number)
        return [c for c in self._comments.values() if c.issue_number == number]

    def _find_issues(
        self,
        state: str,
        labels: list[str] | None = None,
        creator: str | None = None,
        pulls_only: bool = False,
    ) -> list[_Issue]:
        """Matching issues, newest first (GitHub's default order)."""
        return [
            issue
            for issue in sorted(self._issues.values(), key=lambda i: -i.number)
            if state in ("all", issue.state)
            and set(labels or ()) <= set(issue.labels)
            and creator in (None, issue.user["login"])
            and (issue.pull is not None or not pulls_only)
        ]

    def _head_sha(self, pull: _Pull) -> str:
        return pull.head_sha or self._branches[pull.head_ref]

    def _head_label(self, pull: _Pull) -> str:
        return f"{self.owner}:{pull.head_ref}"

    # --- JSON shapes -------------------------------------------------------------------------

    def _api_url(self) -> str:
        return self.url if self._server is not None else "http://127.0.0.1"

    def _html_url(self, issue: _Issue) -> str:
        kind = "issues" if issue.pull is None else "pull"
        return f"https://github.com/{self.repository}/{kind}/{issue.number}"

    def _comment_json(self, comment: _Comment) -> dict[str, Any]:
        issue_url = self._html_url(self._issues[comment.issue_number])
        return {
            "id": comment.id,
            "body": comment.body,
            "user": dict(comment.user),
            "html_url": f"{issue_url}#issuecomment-{comment.id}",
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
        }

    def _issue_json(self, issue: _Issue) -> dict[str, Any]:
        shape = {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "labels": [{"name": name} for name in issue.labels],
            "user": dict(issue.user),
            "html_url": self._html_url(issue),
            "comments": sum(c.issue_number == issue.number for c in self._comments.values()),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
        }
        if issue.pull is not None:
            shape["pull_request"] = {
                "url": f"{self._api_url()}/repos/{self.repository}/pulls/{issue.number}",
                "html_url": self._html_url(issue),
                "merged_at": issue.pull.merged_at,
            }
        return shape

    def _pull_json(self, issue: _Issue) -> dict[str, Any]:
        pull = issue.pull
        assert pull is not None
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "html_url": self._html_url(issue),
            "url": f"{self._api_url()}/repos/{self.repository}/pulls/{issue.number}",
            "user": dict(issue.user),
            "labels": [{"name": name} for name in issue.labels],
            "head": {
                "ref": pull.head_ref,
                "sha": self._head_sha(pull),
                "label": self._head_label(pull),
            },
            "base": {"ref": pull.base_ref, "sha": self._branches.get(pull.base_ref)},
            "merged": pull.merged_at is not None,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 resets bursts of parallel clients

    def __init__(self, standin: GitHubStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    """Thin: reads the request, lets the stand-in answer, writes the JSON back."""

    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        authorization = self.headers.get("Authorization")
        reply = self.server.standin._respond(self.command, self.path, authorization, raw)
        data = json.dumps(reply.payload).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        """Silent: the recorded requests are the log."""


# --- small pure helpers ------------------------------------------------------------------------


def blob_sha(data: bytes) -> str:
    """Git's blob id, which GitHub's contents API calls `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _ref_json(branch: str, sha: str) -> dict[str, Any]:
    return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    return token.strip() or None


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    """(parsed body, whether it parsed); an empty body is None and fine."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


def _int_param(query: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    try:
        value = max(1, int(query.get(name, default)))
    except ValueError:
        value = default
    return min(value, high) if high is not None else value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON: the body must be a JSON object")
    return body


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(422, f"Validation Failed: {key} is required")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, f"Validation Failed: {key} must be a string")
    return value


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ApiError(422, "Validation Failed: labels must be a list of names")
    return list(dict.fromkeys(value))


def _decoded_content(body: dict[str, Any]) -> str:
    """The base64 `content` as text; the stand-in stores UTF-8 text only."""
    encoded = body.get("content")
    if not isinstance(encoded, str):
        raise ApiError(422, "Validation Failed: content is required")
    try:
        return base64.b64decode(encoded, validate=False).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ApiError(422, "Validation Failed: content is not base64 UTF-8 text") from error
