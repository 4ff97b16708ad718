"""The stand-in's repository in memory: commits and branches, issues, pull requests, comments.

Callers hold the stand-in's lock. Timestamps come from a fake clock that ticks one second per
change, so they are stable and ordered; JSON shapes use GitHub's field names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from gitops.github.standin.records import (
    ApiError,
    Comment,
    Commit,
    DeploymentEnvironment,
    Issue,
    Pull,
    WorkflowRun,
)

CLOCK_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class Repository:
    def __init__(
        self,
        name: str,
        bot: dict[str, str],
        default_branch: str,
        api_url: Callable[[], str],
    ) -> None:
        self.name = name
        self.owner = name.split("/")[0]
        self.bot = bot
        self.default_branch = default_branch
        self.api_url = api_url
        self.commits: dict[str, Commit] = {}
        self.issues: dict[int, Issue] = {}
        self.comments: dict[int, Comment] = {}
        self._ticks = 0
        self._commit_count = 0
        self._last_number = 0
        self._last_comment_id = 1000
        self.runs: dict[int, WorkflowRun] = {}
        self.environments: dict[str, DeploymentEnvironment] = {}
        self._last_run_id = 7000
        self.actions_can_open_pulls = True
        """Settings > Actions > "Allow GitHub Actions to create and approve pull requests"."""
        self.merge_lag = 0
        """How many more lookups of a commit's pull requests still lag behind a merge."""
        self.merge_lag_listed = False
        """While lagging: list the merged pull request as not merged yet (else: list nothing)."""
        root = self.new_commit("Initial commit", {}, ())
        self.branches = {default_branch: root.sha}

    # --- git data ----------------------------------------------------------------------------

    def tick(self) -> str:
        self._ticks += 1
        moment = CLOCK_START + dt.timedelta(seconds=self._ticks)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def new_commit(self, message: str, tree: dict[str, str], parents: tuple[str, ...]) -> Commit:
        self._commit_count += 1
        sha = hashlib.sha1(b"standin-commit-%d" % self._commit_count).hexdigest()
        self.commits[sha] = Commit(sha, message, tree, parents)
        return self.commits[sha]

    def commit_to(self, branch: str, changes: dict[str, str], message: str) -> Commit:
        parent = self.branch_head(branch)
        commit = self.new_commit(message, {**self.commits[parent].tree, **changes}, (parent,))
        self.branches[branch] = commit.sha
        return commit

    def merged_tree(self, base_sha: str, head_sha: str) -> dict[str, str]:
        """The base's files plus whatever the head changed since the two diverged."""
        on_base = set(self.ancestors(base_sha))
        fork = next(sha for sha in self.ancestors(head_sha) if sha in on_base)
        fork_tree = self.commits[fork].tree
        head_tree = self.commits[head_sha].tree
        changed = {path: text for path, text in head_tree.items() if fork_tree.get(path) != text}
        return {**self.commits[base_sha].tree, **changed}

    def ancestors(self, sha: str) -> list[str]:
        """The commit and its ancestors, nearest first."""
        order: list[str] = []
        queue = [sha]
        while queue:
            current = queue.pop(0)
            if current not in order:
                order.append(current)
                queue.extend(self.commits[current].parents)
        return order

    def resolve(self, ref: str) -> str:
        """A branch's head commit, or a commit given by its sha."""
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.commits:
            return ref
        raise ApiError(404, f"No commit found for {ref}")

    def branch_head(self, branch: str) -> str:
        if branch not in self.branches:
            raise ApiError(404, f"Branch {branch} not found")
        return self.branches[branch]

    # --- issues, pull requests, comments -------------------------------------------------------

    def new_issue(
        self, title: str, body: str | None, user: dict[str, str], labels: list[str]
    ) -> Issue:
        self._last_number += 1
        now = self.tick()
        issue = Issue(self._last_number, title, body, dict(user), now, now, labels)
        self.issues[issue.number] = issue
        return issue

    def create_pull(
        self, title: str, head: str, base: str, body: str | None, user: dict[str, str]
    ) -> Issue:
        if head not in self.branches:
            raise ApiError(422, f"Validation Failed: head branch {head} does not exist")
        if base not in self.branches:
            raise ApiError(422, f"Validation Failed: base branch {base} does not exist")
        open_pulls = self.find_issues(state="open", pulls_only=True)
        if any(i.pull.head_ref == head for i in open_pulls if i.pull is not None):
            raise ApiError(422, f"A pull request already exists for {self.owner}:{head}.")
        issue = self.new_issue(title, body, user, [])
        issue.pull = Pull(head_ref=head, base_ref=base)
        return issue

    def new_run(
        self, path: str, event: str, head_sha: str, head_branch: str | None, head_repository: str
    ) -> WorkflowRun:
        self._last_run_id += 1
        now = self.tick()
        run = WorkflowRun(
            self._last_run_id, path, event, head_sha, head_branch, head_repository, now, now
        )
        self.runs[run.id] = run
        return run

    def create_comment(self, number: int, body: str, user: dict[str, str]) -> Comment:
        self.issue(number)
        self._last_comment_id += 1
        now = self.tick()
        comment = Comment(self._last_comment_id, number, body, dict(user), now, now)
        self.comments[comment.id] = comment
        return comment

    def set_state(self, issue: Issue, state: str, reason: str | None) -> None:
        if issue.pull is not None and issue.pull.merged_at is not None:
            return  # a merged pull request stays closed, as on GitHub
        closing = state == "closed"
        issue.state, issue.state_reason = state, reason
        issue.closed_at = self.tick() if closing else None
        if issue.pull is not None:
            issue.pull.head_sha = self.branch_head(issue.pull.head_ref) if closing else None

    def issue(self, number: int) -> Issue:
        if number not in self.issues:
            raise ApiError(404, "Not Found")
        return self.issues[number]

    def pull_issue(self, number: int) -> Issue:
        issue = self.issue(number)
        if issue.pull is None:
            raise ApiError(404, "Not Found")
        return issue

    def comments_on(self, number: int) -> list[Comment]:
        self.issue(number)
        return [c for c in self.comments.values() if c.issue_number == number]

    def find_issues(
        self,
        state: str,
        labels: list[str] | None = None,
        creator: str | None = None,
        pulls_only: bool = False,
    ) -> list[Issue]:
        """Matching issues, newest first (GitHub's default order)."""
        return [
            issue
            for issue in sorted(self.issues.values(), key=lambda i: -i.number)
            if state in ("all", issue.state)
            and set(labels or ()) <= set(issue.labels)
            and creator in (None, issue.user["login"])
            and (issue.pull is not None or not pulls_only)
        ]

    def head_sha(self, pull: Pull) -> str:
        return pull.head_sha or self.branches[pull.head_ref]

    def head_label(self, pull: Pull) -> str:
        return f"{self.owner}:{pull.head_ref}"

    # --- JSON shapes -------------------------------------------------------------------------

    def html_url(self, issue: Issue) -> str:
        kind = "issues" if issue.pull is None else "pull"
        return f"https://github.com/{self.name}/{kind}/{issue.number}"

    def comment_json(self, comment: Comment) -> dict[str, Any]:
        issue_url = self.html_url(self.issues[comment.issue_number])
        return {
            "id": comment.id,
            "body": comment.body,
            "user": dict(comment.user),
            "html_url": f"{issue_url}#issuecomment-{comment.id}",
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
        }

    def issue_json(self, issue: Issue) -> dict[str, Any]:
        shape = {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "labels": [{"name": name} for name in issue.labels],
            "user": dict(issue.user),
            "html_url": self.html_url(issue),
            "comments": sum(c.issue_number == issue.number for c in self.comments.values()),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
        }
        if issue.pull is not None:
            shape["pull_request"] = {
                "url": f"{self.api_url()}/repos/{self.name}/pulls/{issue.number}",
                "html_url": self.html_url(issue),
                "merged_at": issue.pull.merged_at,
            }
        return shape

    def pull_json(self, issue: Issue, lagging: bool = False) -> dict[str, Any]:
        """The pull request; `lagging`: as GitHub shows a merged one just after the merge, not
        merged yet and without its merge commit."""
        pull = issue.pull
        assert pull is not None
        merged_at = None if lagging else pull.merged_at
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "html_url": self.html_url(issue),
            "url": f"{self.api_url()}/repos/{self.name}/pulls/{issue.number}",
            "user": dict(issue.user),
            "labels": [{"name": name} for name in issue.labels],
            "head": {
                "ref": pull.head_ref,
                "sha": self.head_sha(pull),
                "label": self.head_label(pull),
            },
            "base": {"ref": pull.base_ref, "sha": self.branches.get(pull.base_ref)},
            "merged": merged_at is not None,
            "merged_at": merged_at,
            "merge_commit_sha": None if lagging else pull.merge_commit_sha,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
        }
