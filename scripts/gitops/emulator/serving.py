"""How the emulator answers: one request at a time, and a retried request gets the answer its
first attempt got.

moto's server (werkzeug, one thread per connection) runs requests in parallel over backends
that are plain dicts and lists, and Terraform sends up to ten requests at once. And when an
answer is lost on its way back (seen in a provider debug log: an attempt sent, no response,
then `attempt=2`), the AWS SDK sends the request again: moto runs a create twice, and Terraform
reports its own first attempt as a conflict (`InvalidPermission.Duplicate` for a
security-group rule in a rehearsal's first deploy, `InvalidSubnet.Conflict` earlier). Every
attempt of one SDK call carries the same `amz-sdk-invocation-id`, so the emulator remembers the
answers it gave and gives a retry the first one, as AWS's idempotency tokens would. Server
errors are not remembered (a retry is meant to run again), nor reads by GET or HEAD.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

REMEMBERED_ANSWERS = 1024
LARGEST_REMEMBERED_BODY = 64 * 1024
"""Bytes; a larger answer is a read (a state file, a policy list), which a retry may redo."""

Answer = tuple[str, list[tuple[str, str]], bytes]

_lock = threading.Lock()
_answers: OrderedDict[str, Answer] = OrderedDict()
_original_call = DomainDispatcherApplication.__call__


def _serve(self: DomainDispatcherApplication, environ: dict[str, Any], start: Any) -> list[bytes]:
    invocation = str(environ.get("HTTP_AMZ_SDK_INVOCATION_ID") or "")
    with _lock:
        if invocation in _answers:
            status, headers, body = _answers[invocation]
            start(status, headers)
            return [body]
        given: dict[str, Any] = {}

        def start_and_note(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            given.update(status=status, headers=list(headers))
            return start(status, headers, *exc_info)

        result = _original_call(self, environ, start_and_note)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        if (
            invocation
            and environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            and not str(given.get("status", "5")).startswith("5")
            and len(body) <= LARGEST_REMEMBERED_BODY
        ):
            _answers[invocation] = (given["status"], given["headers"], body)
            while len(_answers) > REMEMBERED_ANSWERS:
                _answers.popitem(last=False)
        return [body]


def install() -> None:
    """Put `_serve` in front of every service moto's server dispatches to (idempotent)."""
    setattr(DomainDispatcherApplication, "__call__", _serve)  # noqa: B010
