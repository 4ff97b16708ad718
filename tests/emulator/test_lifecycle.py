"""Emulator start, reuse, stop and the one-line errors around it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitops.emulator import server as emulator
from gitops.errors import GitopsError

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
