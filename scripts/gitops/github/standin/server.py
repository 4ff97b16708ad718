"""The stand-in served over real HTTP on loopback, with seeding helpers for tests.

State lives in memory behind one lock; the seeding helpers (`add_file`, `open_pull_request`, ...)
change the same state the HTTP handlers do, without going over HTTP.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from gitops.github.standin.records import (
    ApiError,
    Call,
    DeploymentEnvironment,
    Fault,
    RecordedRequest,
    Reply,
)
from gitops.github.standin.repository import Repository
from gitops.github.standin.request_fields import bearer_token, parse_json
from gitops.github.standin.routes import ROUTES

_REPO_PATH = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)")


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
        self._faults: list[Fault] = []
        self._repo = Repository(repository, self.bot, default_branch, self._api_url)

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
            self._repo.commit_to(
                branch or self.default_branch, {path.strip("/"): text}, f"Add {path}"
            )

    def file_text(self, path: str, branch: str | None = None) -> str | None:
        with self._lock:
            sha = self._repo.branches.get(branch or self.default_branch)
            return None if sha is None else self._repo.commits[sha].tree.get(path.strip("/"))

    def branch_sha(self, branch: str) -> str | None:
        with self._lock:
            return self._repo.branches.get(branch)

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
            repo = self._repo
            if head not in repo.branches:
                repo.branches[head] = repo.branch_head(base)
            user = {"login": author, "type": "User"}
            return repo.create_pull(title, head, base, body, user).number

    def merge_pull_request(self, number: int) -> str:
        with self._lock:
            repo = self._repo
            issue = repo.pull_issue(number)
            pull = issue.pull
            if issue.state != "open" or pull is None:
                raise ApiError(405, "Pull Request is not mergeable")
            base_sha, head_sha = repo.branch_head(pull.base_ref), repo.branch_head(pull.head_ref)
            message = f"Merge pull request #{number} from {self.owner}/{pull.head_ref}"
            tree = repo.merged_tree(base_sha, head_sha)
            merged = repo.new_commit(message, tree, (base_sha, head_sha))
            repo.branches[pull.base_ref] = merged.sha
            repo.set_state(issue, "closed", "completed")
            pull.merged_at, pull.merge_commit_sha = issue.closed_at, merged.sha
            return merged.sha

    def add_workflow_run(
        self,
        path: str,
        head_sha: str,
        event: str = "pull_request",
        *,
        head_branch: str | None = None,
        head_repository: str | None = None,
        conclusion: str | None = None,
    ) -> int:
        """A run of the workflow file `path` on `head_sha`, in progress unless `conclusion` is
        given; its id. `head_repository` (OWNER/NAME) other than this one: a fork's code."""
        with self._lock:
            run = self._repo.new_run(
                path, event, head_sha, head_branch, head_repository or self.repository
            )
            if conclusion is not None:
                run.status, run.conclusion, run.updated_at = "completed", conclusion, run.created_at
            return run.id

    def finish_workflow_run(self, run_id: int, conclusion: str = "success") -> None:
        """The run completes now (its `updated_at` is the clock's next tick)."""
        with self._lock:
            run = self._repo.runs[run_id]
            run.status, run.conclusion, run.updated_at = "completed", conclusion, self._repo.tick()

    def add_environment(
        self,
        name: str,
        reviewers: tuple[str, ...] = (),
        *,
        prevent_self_review: bool = False,
        wait_timer: int = 0,
        can_admins_bypass: bool = True,
    ) -> None:
        """A GitHub environment; `reviewers` (logins) make a required-reviewers rule."""
        with self._lock:
            repo = self._repo
            repo.environments[name] = DeploymentEnvironment(
                len(repo.environments) + 1, name, repo.tick(), list(reviewers),
                prevent_self_review, wait_timer, can_admins_bypass,
            )  # fmt: skip

    def delete_comment(self, comment_id: int) -> None:
        with self._lock:
            if self._repo.comments.pop(comment_id, None) is None:
                raise ApiError(404, "Not Found")

    def allow_actions_pull_requests(self, allowed: bool) -> None:
        """The repository setting "Allow GitHub Actions to create and approve pull requests":
        off, `POST /pulls` answers 403 (whatever was pushed before it stays)."""
        with self._lock:
            self._repo.actions_can_open_pulls = allowed

    def lag_merges(self, lookups: int, listed: bool = False) -> None:
        """Make the next `lookups` requests for a commit's pull requests lag behind merges, as
        GitHub's association does for a moment after a merge: the merged pull request is not
        listed, or (`listed`) it is, and it and `GET /pulls/{n}` show it not merged yet, with no
        merge commit."""
        with self._lock:
            self._repo.merge_lag, self._repo.merge_lag_listed = lookups, listed

    def add_comment(self, number: int, body: str, login: str, user_type: str = "User") -> int:
        with self._lock:
            return self._repo.create_comment(number, body, {"login": login, "type": user_type}).id

    def comments(self, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self._repo.comment_json(c) for c in self._repo.comments_on(number)]

    def issues(self, state: str = "all") -> list[dict[str, Any]]:
        with self._lock:
            found = self._repo.find_issues(state=state)
            return [self._repo.issue_json(i) for i in reversed(found) if i.pull is None]

    def pull_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                self._repo.pull_json(i) for i in self._repo.issues.values() if i.pull is not None
            ]

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        message: str = "",
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
        times: int = 1,
        after_handling: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (and `headers`, or `raw`
        bytes instead of JSON); with `after_handling`, carry each out first, then fail it."""
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_prefix, status, message, dict(headers or {}), raw,
                      dict(query or {}), times, after_handling)
            )  # fmt: skip

    # --- HTTP dispatch ---------------------------------------------------------------------

    def respond(self, method: str, target: str, authorization: str | None, raw: bytes) -> Reply:
        """Answer one HTTP request: record it, authenticate, inject a failure or route it."""
        path, _, query_string = target.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        body, body_is_json = parse_json(raw)
        token = bearer_token(authorization)
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, body, token))
            try:
                if token != self.token:
                    raise ApiError(401, "Bad credentials")
                fault = self._take_fault(method, path, query)
                if fault is not None and not fault.after_handling:
                    return fault.reply()
                if not body_is_json:
                    raise ApiError(400, "Problems parsing JSON")
                reply = self._route(method, path, query, body)
                return reply if fault is None else fault.reply()
            except ApiError as error:
                return Reply(error.status, {"message": error.message})

    def _take_fault(self, method: str, path: str, query: dict[str, str]) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path, query):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        repo = _REPO_PATH.fullmatch(path)
        if repo is None or repo["repo"].lower() != self.repository.lower():
            raise ApiError(404, "Not Found")
        for route_method, pattern, handler in ROUTES:
            found = pattern.fullmatch(repo["rest"])
            if found and route_method == method:
                params = {name: unquote(value) for name, value in found.groupdict().items()}
                return handler(self._repo, Call(path, params, query, body))
        raise ApiError(404, "Not Found")

    def _api_url(self) -> str:
        return self.url if self._server is not None else "http://127.0.0.1"


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
        reply = self.server.standin.respond(self.command, self.path, authorization, raw)
        data = json.dumps(reply.payload).encode() if reply.raw is None else reply.raw
        self.send_response(reply.status)
        kind = "application/json; charset=utf-8" if reply.raw is None else "text/html"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        """Silent: the recorded requests are the log."""
