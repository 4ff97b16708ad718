"""Emulator start, reuse, stop and the one-line errors around it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitops.emulator import server as emulator
from gitops.errors import GitopsError

pytestmark = pytest.mark.emulator

GITOPS = str(Path(sys.executable).with_name("gitops"))


def test_start_reuses_a_healthy_emulator(aws) -> None:
    aws("s3").list_buckets()
    running = emulator.require_running()
    again = emulator.start()
    assert again.pid == running.pid and again.port == running.port
    assert emulator.is_healthy(running.port)


def test_cli_names_a_missing_emulator(tmp_path: Path) -> None:
    result = subprocess.run(
        [GITOPS, "plan", "local", "--outdir", str(tmp_path / "out")],
        env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "gitops plan: error: the emulator is not running; start it with `gitops local up`"
    )


def test_cli_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [GITOPS, "local", "up", "--port", str(port), "--outdir", str(tmp_path / "out")],
            env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work")},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gitops local: error: emulator port {port} on 127.0.0.1 is taken by another process; "
        "free it or choose another with --port"
    ]
    assert not (tmp_path / "work" / "emulator" / "state.json").exists()


def test_a_dead_emulator_is_reported_and_replaced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    state = emulator.start()
    try:
        os.killpg(state.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while emulator.is_alive(state.pid) and time.monotonic() < deadline:
            emulator._reap(state.pid)
            time.sleep(0.1)
        with pytest.raises(GitopsError, match=rf"the emulator \(pid {state.pid}\) has died; see "):
            emulator.require_running()
        replacement = emulator.start()
        assert replacement.pid != state.pid and emulator.is_healthy(replacement.port)
    finally:
        emulator.stop()
    assert emulator.read_state() is None


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen]:
    """A live process in its own process group that no emulator code may ever signal."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def write_stale_state(work: Path, pid: int, port: int, identity: str = "") -> Path:
    state_dir = work / "emulator"
    state_dir.mkdir(parents=True, exist_ok=True)
    state = {"pid": pid, "port": port, "log_file": str(state_dir / "moto.log"), "started_at": 0.0}
    if identity:  # a state file written before identities were recorded has none
        state["identity"] = identity
    (state_dir / "state.json").write_text(json.dumps(state))
    return state_dir / "state.json"


@pytest.mark.parametrize(
    "identity", ["", "Sat Nov 28 00:00:00 2026 python -m gitops.emulator.moto_compat --port 1"]
)
def test_local_down_never_signals_a_stranger_named_by_stale_state(
    tmp_path: Path, stranger, identity: str
) -> None:
    """Reproduces the issue: `gitops local down` killed a live process named in state.json."""
    state_file = write_stale_state(tmp_path / "work", stranger.pid, 1, identity)
    result = subprocess.run(
        [GITOPS, "local", "down", "--outdir", str(tmp_path / "out")],
        env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stranger.poll() is None, "the unrelated process was signalled"
    assert not state_file.exists()
    assert f"note: removed stale emulator state (pid {stranger.pid} is a process that is not" in (
        result.stderr
    )


def test_start_replaces_stale_state_and_leaves_its_process_alone(
    tmp_path: Path, monkeypatch, stranger, capsys
) -> None:
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    write_stale_state(tmp_path, stranger.pid, 1)
    try:
        state = emulator.start()
        assert state.pid != stranger.pid and emulator.is_healthy(state.port)
    finally:
        emulator.stop()
    assert stranger.poll() is None
    assert capsys.readouterr().err.count("note: removed stale emulator state") == 1


def test_a_port_taken_before_moto_binds_it_is_replaced(tmp_path: Path, monkeypatch) -> None:
    """The race: the free port is chosen, then another process binds it before moto does."""
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    real_free_port = emulator.free_port
    with socket.socket() as thief:
        thief.bind(("127.0.0.1", 0))
        thief.listen()
        stolen = thief.getsockname()[1]
        chosen = iter([stolen])
        monkeypatch.setattr(emulator, "free_port", lambda: next(chosen, None) or real_free_port())
        try:
            state = emulator.start()
            assert state.port != stolen and emulator.is_healthy(state.port)
        finally:
            emulator.stop()


def test_an_emulator_that_dies_on_start_is_one_line_and_leaves_no_state(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    with socket.socket() as thief:
        thief.bind(("127.0.0.1", 0))
        thief.listen()
        monkeypatch.setattr(emulator, "free_port", lambda: thief.getsockname()[1])
        with pytest.raises(GitopsError, match=r"^emulator died on start \(exit \d+\): .+") as died:
            emulator.start()
    assert "\n" not in str(died.value) and "was taken, try again" in str(died.value)
    assert emulator.read_state() is None


def test_an_emulator_that_never_answers_is_stopped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    monkeypatch.setattr(emulator, "START_TIMEOUT_SECONDS", 0.3)  # moto takes seconds to import
    launched: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs) -> subprocess.Popen[bytes]:
        launched.append(real_popen(*args, **kwargs))
        return launched[-1]

    monkeypatch.setattr(emulator.subprocess, "Popen", popen)
    with pytest.raises(GitopsError, match=r"^emulator did not answer on https://127.0.0.1:\d+ "):
        emulator.start()
    assert launched and launched[0].poll() is not None, "the emulator that never answered is ended"
    assert emulator.read_state() is None


def test_the_identity_is_read_once_the_emulator_answers(tmp_path: Path, monkeypatch) -> None:
    """Right after the fork the kernel may still show the parent's command line, or none: a
    state recorded then named a stranger, and the next command said the emulator had died."""
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path))
    events: list[str] = []
    real_healthy, real_identity = emulator.is_healthy, emulator.process_identity

    def healthy(port: int, timeout: float = 2.0) -> bool:
        answered = real_healthy(port, timeout)
        events.append(f"healthy={answered}")
        return answered

    def identity(pid: int) -> str | None:
        events.append("identity")
        return real_identity(pid)

    monkeypatch.setattr(emulator, "is_healthy", healthy)
    monkeypatch.setattr(emulator, "process_identity", identity)
    try:
        state = emulator.start()
        assert events.index("identity") > events.index("healthy=True"), events
        assert emulator.MODULE in state.identity and emulator.is_ours(state)
        assert emulator.require_running() == state
    finally:
        emulator.stop()


def test_a_process_identity_is_its_kernel_start_tick_not_a_wall_clock_time() -> None:
    """`ps -o lstart=` shifts with a virtual machine's drifting boot time, and a long session
    once took its own emulator for a stranger; the kernel's start tick never moves."""
    import os

    identity = emulator.process_identity(os.getpid())
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    assert identity is not None and identity.split()[0] == stat.rsplit(")", 1)[1].split()[19]
    assert "python" in identity
    assert emulator.process_identity(os.getpid()) == identity


def test_a_failed_rehearsal_shows_the_emulators_server_errors(tmp_path) -> None:
    log = tmp_path / "moto.log"
    log.write_text(
        '127.0.0.1 - - [29/Nov/2026 03:40:01] "POST / HTTP/1.1" 200 -\n'
        "Error on request:\n"
        "Traceback (most recent call last):\n"
        '  File "moto/ec2/models/tags.py", line 9, in describe_tags\n'
        "RuntimeError: dictionary changed size during iteration\n"
        '127.0.0.1 - - [29/Nov/2026 03:40:02] "POST / HTTP/1.1" 500 -\n'
        '127.0.0.1 - - [29/Nov/2026 03:40:03] "GET /x HTTP/1.1" 404 -\n'
    )
    shown = emulator.server_errors(log).splitlines()
    assert shown[1:] == [
        "Traceback (most recent call last):",
        '  File "moto/ec2/models/tags.py", line 9, in describe_tags',
        "RuntimeError: dictionary changed size during iteration",
        '127.0.0.1 - - [29/Nov/2026 03:40:02] "POST / HTTP/1.1" 500 -',
    ]
    log.write_text('127.0.0.1 - - [29/Nov/2026 03:40:01] "POST / HTTP/1.1" 200 -\n')
    assert "no request with a server error" in emulator.server_errors(log)
    assert "no emulator log" in emulator.server_errors(tmp_path / "missing.log")
