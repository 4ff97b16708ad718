"""The release rehearsal reads `gitops deploy`'s output: its patterns must match what the
rollout step really prints, or the rehearsal would fail a good run (or pass a bad one)."""

from __future__ import annotations

from gitops.pipeline import rollout
from gitops.pipeline.rehearse_release import ELAPSED, STOPPED


def test_a_stop_is_recognised_with_or_without_the_failed_event() -> None:
    info = {
        "status": "Stopped",
        "errorInformation": {"code": "ALARM_ACTIVE", "message": "alarms: fraud-target-5xx-local"},
        "rollbackInfo": {"rollbackMessage": "Rolled back: traffic is back on fraud-tg-blue-local"},
    }
    for seen in (set(), {"BeforeInstall Failed"}):
        line = f"gitops deploy: error: {rollout._failure('d-ABC123', info, seen)}"
        assert STOPPED.search(line), line
    failed = rollout._failure("d-ABC123", {**info, "status": "Failed"}, set())
    assert not STOPPED.search(failed)


def test_the_duration_comes_from_the_success_line_only() -> None:
    output = "[   0.3s] local: status InProgress\n[   2.7s] local: status Succeeded\n"
    found = ELAPSED.search(output)
    assert found is not None and found[1] == "2.7"
    assert ELAPSED.search("[   2.7s] local: status Stopped\n") is None
