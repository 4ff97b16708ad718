"""The emulator serves one request at a time: moto's backends are not thread-safe, and a
request that failed half-way under Terraform's parallel calls came back as a conflict."""

from __future__ import annotations

import threading
import time
from typing import Any

from gitops.emulator import moto_compat
from moto.moto_server.werkzeug_app import DomainDispatcherApplication


def test_concurrent_requests_are_served_one_after_another(monkeypatch) -> None:
    active, most = 0, 0
    counter = threading.Lock()

    def slow_request(self: Any, environ: Any, start: Any) -> list[bytes]:
        nonlocal active, most
        with counter:
            active += 1
            most = max(most, active)
        time.sleep(0.02)
        with counter:
            active -= 1
        return [environ["id"].encode()]

    monkeypatch.setattr(moto_compat, "_original_dispatch", slow_request)
    answers: list[list[bytes]] = []
    threads = [
        threading.Thread(
            target=lambda n=n: answers.append(
                moto_compat._one_request_at_a_time(None, {"id": str(n)}, None)
            )  # type: ignore[arg-type]
        )
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert sorted(answers) == [[str(n).encode()] for n in range(8)]


def test_install_puts_the_serialization_in_front_of_every_service(monkeypatch) -> None:
    monkeypatch.setattr(DomainDispatcherApplication, "__call__", moto_compat._original_dispatch)
    moto_compat.install()
    assert DomainDispatcherApplication.__call__ is moto_compat._one_request_at_a_time
