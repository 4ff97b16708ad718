"""One GitHub REST request over urllib, retried when retrying is safe.

GitHub's own guidance decides what is retried: server errors (5xx) and no answer, for calls
that can be repeated; 429 and the secondary rate limit (403 with `Retry-After`, or no
requests left), for any call, since a rate-limited request was not carried out. The wait is
`Retry-After` when GitHub sends it, the primary limit's reset time when it is exhausted, and
otherwise doubles from `base_seconds`; no single wait exceeds `max_wait_seconds`, and when
GitHub asks for longer the call fails at once, saying when to re-run.

A POST or PUT that fails with a 5xx or no answer may have been carried out before the answer
was lost, so it is repeated only when the caller can look for its result first (`find_done`):
when the result is there, that is the answer.
"""

from __future__ import annotations

import email.utils
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gitops.errors import GitopsError

TIMEOUT_SECONDS = 30
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PATCH", "DELETE"})
"""The pipeline's PATCHes set fields to given values: repeating one changes nothing more."""
SERVER_ERRORS = frozenset({500, 502, 503, 504})


class GitHubError(GitopsError):
    """GitHub refused or failed a call; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Requests per call at most, the first included."""
    base_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep


class _Client(Protocol):
    # Read-only members, so the frozen GitHubClient dataclass satisfies the protocol.
    @property
    def token(self) -> str: ...
    @property
    def retry(self) -> RetryPolicy: ...


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    raw: bytes
    reason: str = ""


def send(
    client: _Client, method: str, url: str, body: Any, find_done: Callable[[], Any] | None
) -> tuple[Any, str]:
    """(decoded JSON, `Link` header) of one call, retried as the module says."""
    where = f"GitHub {method} {urllib.parse.urlsplit(url).path}"
    policy = client.retry
    for attempt in range(1, policy.attempts + 1):
        answer = _request(client.token, method, url, body)
        if 200 <= answer.status < 300:
            return _decode(where, answer), answer.headers.get("Link", "")
        failure = _describe(where, answer)
        rate_limited = _is_rate_limited(answer)
        if not rate_limited and answer.status not in SERVER_ERRORS and answer.status != 0:
            raise GitHubError(failure, answer.status)
        if not rate_limited and method not in IDEMPOTENT_METHODS:
            # It may have been carried out: look before sending it again.
            if find_done is None:
                raise GitHubError(f"{failure}; not repeated, it may have been carried out", 0)
            done = find_done()
            if done is not None:
                return done, ""
        wait = _wait_seconds(answer, attempt, policy)
        if wait > policy.max_wait_seconds:
            raise GitHubError(
                f"{failure}; GitHub asks to wait {wait:.0f}s, re-run the job after that",
                answer.status,
            )
        if attempt == policy.attempts:
            raise GitHubError(f"{failure} (after {attempt} attempts)", answer.status)
        print(
            f"{failure}; retrying in {wait:.1f}s (attempt {attempt + 1} of {policy.attempts})",
            file=sys.stderr,
            flush=True,
        )
        policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _request(token: str, method: str, url: str, body: Any) -> _Answer:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "User-Agent": "gitops-fraud-detection",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return _Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        try:
            raw = error.read()
        except OSError:
            raw = b""
        return _Answer(error.code, dict(error.headers or {}), raw, str(error.reason))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return _Answer(0, {}, b"", str(getattr(error, "reason", error)))


def _decode(where: str, answer: _Answer) -> Any:
    if not answer.raw:
        return None
    try:
        return json.loads(answer.raw)
    except (ValueError, UnicodeDecodeError):
        kind = answer.headers.get("Content-Type", "no content type")
        raise GitHubError(
            f"{where}: answered {answer.status} with a body that is not JSON ({kind});"
            " re-run the job, and check GITHUB_API_URL if it persists",
            0,
        ) from None


def _describe(where: str, answer: _Answer) -> str:
    if answer.status == 0:
        return f"{where}: no answer ({answer.reason})"
    try:
        message = str(json.loads(answer.raw).get("message", answer.reason))
    except (ValueError, UnicodeDecodeError, AttributeError):
        message = answer.reason or "(no message)"
    return f"{where}: {answer.status} {message}"


def _header(answer: _Answer, name: str) -> str | None:
    for key, value in answer.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _is_rate_limited(answer: _Answer) -> bool:
    if answer.status == 429:
        return True
    if answer.status != 403:
        return False
    if (
        _header(answer, "Retry-After") is not None
        or _header(answer, "X-RateLimit-Remaining") == "0"
    ):
        return True
    return b"rate limit" in answer.raw.lower()


def _wait_seconds(answer: _Answer, attempt: int, policy: RetryPolicy) -> float:
    """What GitHub asked for (`Retry-After`, the limit's reset), else capped doubling."""
    retry_after = _header(answer, "Retry-After")
    if retry_after is not None:
        if retry_after.strip().isdigit():
            return float(retry_after.strip())
        try:
            moment = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            return max(0.0, moment.timestamp() - time.time())
    reset = _header(answer, "X-RateLimit-Reset")
    if _header(answer, "X-RateLimit-Remaining") == "0" and reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return min(policy.base_seconds * 2.0 ** (attempt - 1), policy.max_wait_seconds)
