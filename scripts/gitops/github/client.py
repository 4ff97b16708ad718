"""The few GitHub REST calls the pipeline makes, with the standard library only.

Workflows already export what a client needs (`GITHUB_API_URL`, `GITHUB_REPOSITORY`) and pass
`GITHUB_TOKEN`; the rehearsal points the same variables at a stand-in on loopback. The token is
sent in a header and never printed. Every failure is one line naming the call and GitHub's
message. Comments and issues the pipeline owns carry a hidden marker and are trusted only when
the workflow's own bot wrote them: anyone can paste a marker into a comment.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitops.errors import GitopsError, UsageError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BOT_LOGIN = "github-actions[bot]"
BOT_LOGIN_VARIABLE = "GITOPS_BOT_LOGIN"
"""Set it when the workflows post with a GitHub App's token instead of `github.token`."""
PAGE_SIZE = 100
TIMEOUT_SECONDS = 30
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubError(GitopsError):
    """GitHub refused or failed a call; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GitHubClient:
    api_url: str
    repository: str
    token: str
    bot_login: str = DEFAULT_BOT_LOGIN

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> GitHubClient:
        """The client a workflow step has: repository and API URL from Actions, token passed in."""
        environ = os.environ if environ is None else environ
        repository = environ.get("GITHUB_REPOSITORY", "")
        if not _REPOSITORY.match(repository):
            raise UsageError(f"GITHUB_REPOSITORY: expected OWNER/NAME, got {repository!r}")
        token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
        if not token:
            raise UsageError("GITHUB_TOKEN is not set; pass `github.token` to this step's env")
        return cls(
            api_url=environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/"),
            repository=repository,
            token=token,
            bot_login=environ.get(BOT_LOGIN_VARIABLE, DEFAULT_BOT_LOGIN),
        )

    # -- transport ---------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None
    ) -> Any:
        """One request to `/repos/<repository><path>`; the decoded JSON answer."""
        data, _ = self._send(method, self._url(path, query), body)
        return data

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        url = f"{self.api_url}/repos/{self.repository}{path}"
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def _send(self, method: str, url: str, body: Any) -> tuple[Any, str]:
        request = urllib.request.Request(
            url,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "User-Agent": "gitops-fraud-detection",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        where = f"GitHub {method} {urllib.parse.urlsplit(url).path}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read()
                link = response.headers.get("Link", "")
        except urllib.error.HTTPError as error:
            raise GitHubError(f"{where}: {error.code} {_message(error)}", error.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise GitHubError(f"{where}: no answer ({reason})", 0) from None
        try:
            return (json.loads(raw) if raw else None), link
        except ValueError:
            raise GitHubError(f"{where}: the answer is not JSON", 0) from None

    def paginate(self, path: str, query: Mapping[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a listing, following GitHub's `Link: <...>; rel="next"` headers."""
        url: str | None = self._url(path, {**(query or {}), "per_page": PAGE_SIZE})
        while url:
            items, link = self._send("GET", url, None)
            yield from items
            url = _next_link(link)

    # -- comments on a pull request ----------------------------------------------------------

    def is_bot(self, item: Mapping[str, Any]) -> bool:
        return (item.get("user") or {}).get("login") == self.bot_login

    def bot_comments(self, number: int, marker: str) -> list[dict]:
        """The PR's comments that carry `marker` and were written by the workflow's bot."""
        return [
            comment
            for comment in self.paginate(f"/issues/{number}/comments")
            if self.is_bot(comment) and marker in (comment.get("body") or "")
        ]

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, dict]:
        """Update the bot's marked comment on PR `number` in place, or create it.

        Returns ("created" | "updated", comment). With several marked comments (a race between
        two runs) the newest is updated, so the PR still shows one current plan at the bottom.
        """
        existing = self.bot_comments(number, marker)
        if existing:
            newest = existing[-1]
            return "updated", self.call("PATCH", f"/issues/comments/{newest['id']}", {"body": body})
        return "created", self.call("POST", f"/issues/{number}/comments", {"body": body})

    # -- pull requests ----------------------------------------------------------------------

    def merged_pull_request(self, commit: str) -> dict | None:
        """The pull request whose merge produced `commit` (None for a direct push)."""
        pulls = self.call("GET", f"/commits/{commit}/pulls")
        for pull in pulls:
            if pull.get("merge_commit_sha") == commit and pull.get("merged_at"):
                return pull
        return None

    def open_pull_request(
        self, branch: str, base: str, files: Mapping[str, str], title: str, body: str
    ) -> dict:
        """Commit `files` (path -> text) on a new branch from `base` and open a pull request."""
        base_ref = self.call("GET", f"/git/ref/heads/{_quote(base)}")
        try:
            self.call(
                "POST",
                "/git/refs",
                {"ref": f"refs/heads/{branch}", "sha": base_ref["object"]["sha"]},
            )
        except GitHubError as error:
            if error.status == 422:
                raise GitopsError(
                    f"branch {branch} already exists: merge or close its pull request and delete"
                    " the branch, then promote again"
                ) from None
            raise
        for path, text in files.items():
            current = self.call("GET", f"/contents/{_quote(path)}", query={"ref": branch})
            self.call(
                "PUT",
                f"/contents/{_quote(path)}",
                {
                    "message": title,
                    "content": base64.b64encode(text.encode()).decode(),
                    "sha": current["sha"],
                    "branch": branch,
                },
            )
        return self.call(
            "POST", "/pulls", {"title": title, "head": branch, "base": base, "body": body}
        )

    # -- issues the pipeline keeps open while something is wrong ----------------------------

    def sync_issue(
        self, marker: str, title: str, body: str | None, labels: tuple[str, ...] = ()
    ) -> tuple[str, dict | None]:
        """Keep one open issue per `marker`: open or update it with `body`, close it on None.

        Returns what happened ("opened", "updated", "closed", "none") and the issue.
        """
        # Found by the bot and the marker only: a label can be renamed or fail to be created.
        query = {"state": "open", "creator": self.bot_login}
        found = [
            issue
            for issue in self.paginate("/issues", query)
            if "pull_request" not in issue
            and self.is_bot(issue)
            and marker in (issue.get("body") or "")
        ]
        if body is None:
            for issue in found:
                self.call("PATCH", f"/issues/{issue['number']}", {"state": "closed"})
            return ("closed", found[0]) if found else ("none", None)
        text = f"{marker}\n{body}"
        if found:
            issue = found[0]
            self.call("PATCH", f"/issues/{issue['number']}", {"title": title, "body": text})
            return "updated", issue
        issue = self.call("POST", "/issues", {"title": title, "body": text, "labels": list(labels)})
        return "opened", issue


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("message", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")
