"""`gitops local up` failing after it started the emulator: it says what failed in one line,
exits non-zero, and leaves no emulator running and no state claiming one.

Each test has a work folder of its own, so the emulator it starts is its own, never the
session's shared one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults import FAULT_MESSAGE, terraform_failing_at

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def started_pid(work_dir: Path) -> int:
    """The emulator pid `local up` printed in its state file, read before the state goes."""
    return json.loads((work_dir / "emulator" / "state.json").read_text())["pid"]


def up(tmp_path: Path, path_prefix: Path | None = None) -> subprocess.Popen[str]:
    work = tmp_path / "work"
    environment = {**os.environ, "GITOPS_WORK_DIR": str(work)}
    if path_prefix is not None:
        environment["PATH"] = f"{path_prefix}{os.pathsep}{environment['PATH']}"
    return subprocess.Popen(
        [GITOPS, "local", "up", "--outdir", str(tmp_path / "out")],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 300) -> list[str]:
    """Lines `process` printed up to and including the first one containing `marker`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never printed: {''.join(seen)}")


def pid_from(lines: list[str]) -> int:
    (started,) = [line for line in lines if "emulator started:" in line]
    return int(started.split("(pid ", 1)[1].split(",", 1)[0])


def test_a_failure_after_start_stops_the_emulator_it_started(tmp_path: Path) -> None:
    wrapper = terraform_failing_at(tmp_path / "faulty-bin", "init")
    process = up(tmp_path, wrapper.parent)
    pid = pid_from(read_until(process, "emulator started:"))
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitops local: error: "), stderr
    assert FAULT_MESSAGE in lines[0] and "terraform init failed" in lines[0]
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid), "the emulator it started is stopped"
    assert not (tmp_path / "work" / "emulator" / "state.json").exists()


def test_the_emulator_killed_mid_deploy_is_one_line_and_leaves_no_state(tmp_path: Path) -> None:
    process = up(tmp_path)
    lines = read_until(process, "emulator started:")
    pid = pid_from(lines)
    read_until(process, "synthesized")
    os.kill(pid, signal.SIGKILL)  # the emulator dies while terraform talks to it
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1
    errors = stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("gitops local: error: "), stderr
    assert not (tmp_path / "work" / "emulator" / "state.json").exists()
    status = subprocess.run(
        [GITOPS, "local", "status"],
        env={**os.environ, "GITOPS_WORK_DIR": str(tmp_path / "work")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "not running" in status.stdout, status.stdout
