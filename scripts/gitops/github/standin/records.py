"""What the stand-in stores and exchanges: records of the repository, requests and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
class Commit:
    sha: str
    message: str
    tree: dict[str, str]
    """Every file's text at this commit: a snapshot, so branches never share mutable state."""
    parents: tuple[str, ...]


@dataclass
class Pull:
    head_ref: str
    base_ref: str
    head_sha: str | None = None
    """Frozen when the pull request closes; while open, the head branch's current commit."""
    merged_at: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Issue:
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
    pull: Pull | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: dict[str, str]
    created_at: str
    updated_at: str


@dataclass
class WorkflowRun:
    """A run of a workflow file, as `GET /actions/runs/{id}` describes it."""

    id: int
    path: str
    """The workflow file, `.github/workflows/<name>.yml`."""
    event: str
    head_sha: str
    head_branch: str | None
    head_repository: str
    """OWNER/NAME of the code that ran: another one for a fork's pull request."""
    created_at: str
    updated_at: str
    status: str = "in_progress"
    conclusion: str | None = None


@dataclass
class DeploymentEnvironment:
    """A GitHub environment (Settings > Environments) and its protection rules."""

    id: int
    name: str
    created_at: str
    reviewers: list[str] = field(default_factory=list)
    """Logins of the required reviewers; none: no required-reviewers rule."""
    prevent_self_review: bool = False
    wait_timer: int = 0
    """Minutes; 0: no wait-timer rule."""
    can_admins_bypass: bool = True
    """GitHub's default: repository administrators may skip the protection rules."""


@dataclass(frozen=True)
class Call:
    """One authenticated request to a route: what a handler needs."""

    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """Sent instead of the JSON of `payload` when set (a proxy's HTML page, a cut-off body)."""


@dataclass
class Fault:
    """A failure injected into matching requests, as GitHub or a proxy in front of it fails.

    `after_handling`: the request is carried out first and only the answer is lost, as when a
    gateway times out on a POST that GitHub completed.
    """

    method: str
    path_prefix: str
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    query: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after_handling: bool = False

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        return (
            self.times > 0
            and self.method == method
            and path.startswith(self.path_prefix)
            and all(query.get(name) == value for name, value in self.query.items())
        )

    def reply(self) -> Reply:
        return Reply(self.status, {"message": self.message}, dict(self.headers), self.raw)
