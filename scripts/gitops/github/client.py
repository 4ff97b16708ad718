"""The few GitHub REST calls the pipeline makes, with the standard library only.

Workflows already export what a client needs (`GITHUB_API_URL`, `GITHUB_REPOSITORY`) and pass
`GITHUB_TOKEN`; the rehearsal points the same variables at a stand-in on loopback. The token is
sent in a header and never printed. Every failure is one line naming the call and GitHub's
message. Comments and issues the pipeline owns carry a hidden marker and are trusted only when
the workflow's own bot wrote them: anyone can paste a marker into a comment.

Retries (`transport.py`): idempotent calls (GET, and the PATCHes that set fields) are retried on
5xx, 429, a secondary rate limit and no answer, with capped exponential backoff that honours
`Retry-After`. A POST or PUT that may have been carried out (5xx, no answer) is retried only
after looking for what it would have created: it is never sent twice blindly.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops.errors import UsageError
from gitops.github.transport import GitHubError, RetryPolicy, send


def blob_sha(data: bytes) -> str:
    """Git's blob id, which GitHub's contents API calls `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BOT_LOGIN = "github-actions[bot]"
BOT_LOGIN_VARIABLE = "GITOPS_BOT_LOGIN"
"""Set it when the workflows post with a GitHub App's token instead of `github.token`."""
PAGE_SIZE = 100
MERGE_LOOKUPS = 5
"""Lookups of a merge commit's pull request before concluding it has none (a direct push)."""
MAX_MERGE_CANDIDATES = 5
"""Pull requests listed for a commit that are confirmed one by one; a merge commit has one."""
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

__all__ = ["GitHubClient", "GitHubError"]


@dataclass(frozen=True)
class GitHubClient:
    api_url: str
    repository: str
    token: str
    bot_login: str = DEFAULT_BOT_LOGIN
    retry: RetryPolicy = field(default_factory=RetryPolicy)

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
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        *,
        find_done: Callable[[], Any] | None = None,
    ) -> Any:
        """One request to `/repos/<repository><path>`; the decoded JSON answer.

        `find_done` makes a POST or PUT safe to retry: after a failure that may have happened
        after GitHub carried it out, it looks for the result and returns it (or None).
        """
        data, _ = send(self, method, self._url(path, query), body, find_done)
        return data

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        url = f"{self.api_url}/repos/{self.repository}{path}"
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def paginate(
        self, path: str, query: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following GitHub's `Link: <...>; rel="next"` headers.

        A page that fails (after its retries) fails the whole listing, naming the page: a
        caller never acts on a partial list as if it were complete.
        """
        url: str | None = self._url(path, {**(query or {}), "per_page": PAGE_SIZE})
        page = 1
        while url:
            try:
                items, link = send(self, "GET", url, None, None)
            except GitHubError as error:
                if page == 1:
                    raise
                raise GitHubError(f"{error} (page {page} of the listing)", error.status) from None
            if not isinstance(items, list):
                raise GitHubError(f"GitHub GET {path}: page {page} is not a list", 0)
            yield from items
            url = _next_link(link)
            page += 1

    # -- comments on a pull request ----------------------------------------------------------

    def is_bot(self, item: Mapping[str, Any]) -> bool:
        return (item.get("user") or {}).get("login") == self.bot_login

    def bot_comments(self, number: int, marker: str) -> list[dict[str, Any]]:
        """The PR's comments that carry `marker` and were written by the workflow's bot."""
        return [
            comment
            for comment in self.paginate(f"/issues/{number}/comments")
            if self.is_bot(comment) and marker in (comment.get("body") or "")
        ]

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, dict[str, Any]]:
        """Update the bot's marked comment on PR `number` in place, or create it.

        Returns ("created" | "updated", comment). With several marked comments (a race between
        two runs) the newest is updated, so the PR still shows one current plan at the bottom.
        """
        existing = self.bot_comments(number, marker)
        if existing:
            newest = existing[-1]
            return "updated", self.call("PATCH", f"/issues/comments/{newest['id']}", {"body": body})

        def posted() -> dict[str, Any] | None:
            same = [c for c in self.bot_comments(number, marker) if c.get("body") == body]
            return same[-1] if same else None

        created = self.call("POST", f"/issues/{number}/comments", {"body": body}, find_done=posted)
        return "created", created

    # -- pull requests ----------------------------------------------------------------------

    def merged_pull_request(
        self, commit: str, lookups: int = MERGE_LOOKUPS
    ) -> dict[str, Any] | None:
        """The pull request whose merge produced `commit`, as `GET /pulls/{n}` shows it after
        the merge (merged, `merge_commit_sha` = `commit`); None for a direct push.

        Right after a merge GitHub's commit -> pull request association can lag: the listing
        is empty, or shows the pull request not merged yet (`merge_commit_sha` null). So every
        pull request listed is confirmed with `GET /pulls/{n}`, and an unconfirmed lookup is
        repeated up to `lookups` times in all, waiting the retry policy's doubling waits
        between (about 30 s with the defaults) before it concludes "no pull request".
        """
        for attempt in range(1, lookups + 1):
            listed: list[dict[str, Any]] = self.call("GET", f"/commits/{commit}/pulls")
            for candidate in listed[:MAX_MERGE_CANDIDATES]:
                pull: dict[str, Any] = self.call("GET", f"/pulls/{candidate['number']}")
                if pull.get("merged") and pull.get("merge_commit_sha") == commit:
                    return pull
            if attempt == lookups:
                break
            wait = min(self.retry.base_seconds * 2.0**attempt, self.retry.max_wait_seconds)
            print(
                f"commit {commit[:12]}: no merged pull request found yet; looking again in"
                f" {wait:.1f}s (lookup {attempt + 1} of {lookups})",
                file=sys.stderr,
                flush=True,
            )
            self.retry.sleep(wait)
        return None

    def open_pull_request(
        self,
        branch: str,
        base: str,
        files: Mapping[str, bytes],
        title: str,
        body: str,
        source_sha: str,
    ) -> tuple[str, dict[str, Any]]:
        """Commit `files` (repository path -> exact bytes: CRLF stays CRLF) on `branch`, made
        from `source_sha`, and open a pull request into `base`. Returns ("opened" |
        "already open", pull request).

        `source_sha` is the commit the files were read from, and it must be on `base`. The
        branch starts there, not at `base`'s current head: a change merged into `base` since
        stays out of the branch, so the pull request cannot undo it.

        Safe to run again after a failure part-way: a branch this command made from
        `source_sha` (nothing on it but commits titled `title`) is reused, a file already as
        wanted is not committed again, and an open pull request of the branch is returned as
        it is. A branch of that name holding anything else is refused, not written to.
        """
        self._check_on_base(source_sha, base)
        head = f"{self.repository.split('/')[0]}:{branch}"

        def open_pull() -> dict[str, Any] | None:
            pulls: list[dict[str, Any]] = self.call(
                "GET", "/pulls", query={"head": head, "base": base, "state": "open"}
            )
            return pulls[0] if pulls else None

        existing = open_pull()
        if self._branch_sha(branch) is None:
            self._create_branch(branch, source_sha, title)
        elif not self._made_here(source_sha, branch, title):
            if existing is not None:
                return "already open", existing  # made by an earlier run from an older commit
            raise GitHubError(
                f"branch {branch} already exists and holds more than this change made from"
                f" {source_sha[:12]}: delete the branch, then run again",
                422,
            )
        for path, data in files.items():
            self._put_file(branch, path, data, title)
        if existing is not None:
            return "already open", existing
        try:
            created = self.call(
                "POST",
                "/pulls",
                {"title": title, "head": branch, "base": base, "body": body},
                find_done=open_pull,
            )
        except GitHubError as error:
            if error.status != 403:
                raise
            raise GitHubError(
                f'{error}. With github.token, turn on Settings > Actions > General > "Allow'
                f' GitHub Actions to create and approve pull requests"; branch {branch} is'
                " pushed, and running again reuses it",
                403,
            ) from None
        return "opened", created

    def _check_on_base(self, sha: str, base: str) -> None:
        """`sha` must be on `base`: a branch from anywhere else brings other commits along."""
        try:
            found: dict[str, Any] = self.call("GET", f"/compare/{sha}...{_quote(base)}")
        except GitHubError as error:
            if error.status != 404:
                raise
            raise GitHubError(
                f"commit {sha[:12]}, which the files were read from, is not on GitHub"
                f" ({error}); push it, or run from a checkout of {base}",
                404,
            ) from None
        if found.get("status") not in ("identical", "ahead"):
            raise GitHubError(
                f"commit {sha[:12]}, which the files were read from, is not on {base}: a pull"
                f" request from it would bring other changes along; run from {base}",
                422,
            )

    def _branch_sha(self, branch: str) -> str | None:
        try:
            ref: dict[str, Any] = self.call("GET", f"/git/ref/heads/{_quote(branch)}")
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        return str(ref["object"]["sha"])

    def _made_here(self, source_sha: str, branch: str, title: str) -> bool:
        """Whether `branch` is `source_sha` plus this command's own commits only."""
        found: dict[str, Any] = self.call("GET", f"/compare/{source_sha}...{_quote(branch)}")
        if found.get("status") == "identical":
            return True
        commits = found.get("commits") or []
        return found.get("status") == "ahead" and all(
            (c.get("commit") or {}).get("message") == title for c in commits
        )

    def _create_branch(self, branch: str, sha: str, title: str) -> None:
        def created() -> dict[str, Any] | None:
            now = self._branch_sha(branch)
            return {"object": {"sha": now}} if now is not None else None

        try:
            self.call(
                "POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": sha}, find_done=created
            )
        except GitHubError as error:
            # Made meanwhile (a lost answer, a second run): fine only if it is ours.
            if error.status != 422 or created() is None or not self._made_here(sha, branch, title):
                raise

    def _file(self, path: str, branch: str) -> dict[str, Any] | None:
        """The file's contents entry on `branch`, None when the file is not there."""
        try:
            entry: dict[str, Any] = self.call(
                "GET", f"/contents/{_quote(path)}", query={"ref": branch}
            )
            return entry
        except GitHubError as error:
            if error.status == 404:
                return None
            raise

    def _put_file(self, branch: str, path: str, data: bytes, message: str) -> None:
        wanted = blob_sha(data)
        current = self._file(path, branch)
        if current is not None and current.get("sha") == wanted:
            return

        def written() -> dict[str, Any] | None:
            now = self._file(path, branch)
            return now if now is not None and now.get("sha") == wanted else None

        change = {
            "message": message,
            "content": base64.b64encode(data).decode(),
            "branch": branch,
        }
        if current is not None:
            change["sha"] = current["sha"]  # a file new on the base branch is created without one
        self.call("PUT", f"/contents/{_quote(path)}", change, find_done=written)

    # -- issues the pipeline keeps open while something is wrong ----------------------------

    def sync_issue(
        self, marker: str, title: str, body: str | None, labels: tuple[str, ...] = ()
    ) -> tuple[str, dict[str, Any] | None]:
        """Keep one open issue per `marker`: open or update it with `body`, close it on None.

        Returns what happened ("opened", "updated", "closed", "none") and the issue.
        """
        found = self._marked_issues(marker)
        if body is None:
            for issue in found:
                self.call("PATCH", f"/issues/{issue['number']}", {"state": "closed"})
            return ("closed", found[0]) if found else ("none", None)
        text = f"{marker}\n{body}"
        if found:
            issue = found[0]
            self.call("PATCH", f"/issues/{issue['number']}", {"title": title, "body": text})
            return "updated", issue

        def opened() -> dict[str, Any] | None:
            again = self._marked_issues(marker)
            return again[0] if again else None

        issue = self.call(
            "POST",
            "/issues",
            {"title": title, "body": text, "labels": list(labels)},
            find_done=opened,
        )
        return "opened", issue

    def _marked_issues(self, marker: str) -> list[dict[str, Any]]:
        """Open issues carrying `marker`, written by the bot (found by these only: a label can
        be renamed or fail to be created)."""
        query = {"state": "open", "creator": self.bot_login}
        return [
            issue
            for issue in self.paginate("/issues", query)
            if "pull_request" not in issue
            and self.is_bot(issue)
            and marker in (issue.get("body") or "")
        ]


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")
