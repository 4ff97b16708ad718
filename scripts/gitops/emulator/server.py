"""The local AWS emulator: moto's server (with gitops.emulator.moto_compat) on loopback.

One emulator per checkout. Its pid, port and log live under `.gitops/emulator/`; `start` is
idempotent (a healthy running emulator is reused), `stop` ends the whole process group, and
every command that needs the emulator checks it is alive and answering first.

A pid in `state.json` proves nothing on its own: after the emulator dies, the system may give
its number to any other process. So the state also records the process's identity (its start
tick and command line, read once it answers), and the emulator is signalled only when the
process behind the pid still has that identity. Anything else is stale state: it is removed
with a one-line note, and the process is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from gitops.emulator.certificates import emulator_tls
from gitops.errors import GitopsError, UsageError
from gitops.paths import work_dir
from infra.config import EmulatorConfig, EnvironmentConfig

HOST = "127.0.0.1"
HEALTH_PATH = "/moto-api/"
"""moto's dashboard page: cheap. (`data.json` dumps every backend: seconds, and 500s once
some resources exist.)"""
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
START_ATTEMPTS = 3
"""Fresh ports tried when another process takes the chosen one before moto binds it."""
MODULE = "gitops.emulator.moto_compat"

EMULATOR_CREDENTIALS = {
    # The emulator accepts any credentials; these name it and open nothing anywhere else.
    "AWS_ACCESS_KEY_ID": "emulator",
    "AWS_SECRET_ACCESS_KEY": "emulator",  # pragma: allowlist secret
}


@dataclass(frozen=True)
class EmulatorState:
    pid: int
    port: int
    log_file: str
    started_at: float
    identity: str = ""
    """`process_identity` of the process when it started: what proves it is ours."""

    @property
    def endpoint(self) -> str:
        return endpoint_on(self.port)


def endpoint_on(port: int) -> str:
    return f"https://{HOST}:{port}"


def emulator_dir() -> Path:
    return work_dir() / "emulator"


def ca_bundle() -> Path:
    """The CA that signed the emulator's server certificate (`AWS_CA_BUNDLE` for its clients)."""
    ca_file, _, _ = emulator_tls(emulator_dir() / "tls", HOST)
    return ca_file


def state_file() -> Path:
    return emulator_dir() / "state.json"


def read_state() -> EmulatorState | None:
    try:
        return EmulatorState(**json.loads(state_file().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _write_state(state: EmulatorState) -> None:
    temporary = state_file().with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(temporary, state_file())


def process_identity(pid: int) -> str | None:
    """Start time and command line of a live process (None when there is none).

    On Linux: the start in clock ticks since boot (`/proc/<pid>/stat`, field 22) and the command
    line, both fixed for the life of the process. `ps -o lstart=` derives a wall-clock start from
    the boot time, which drifts on a virtual machine, so a long session saw its own emulator as a
    stranger. Elsewhere: `ps`.
    """
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:
        return None
    except OSError:
        pass
    else:
        # Field 2 (the name) may hold spaces and parentheses: count fields after its last ")".
        start_ticks = stat.rsplit(")", 1)[1].split()[19]
        return f"{start_ticks} {command}"
    try:
        shown = subprocess.run(
            ["ps", "-ww", "-o", "lstart=,args=", "-p", str(pid)],
            capture_output=True, text=True, check=False, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shown.stdout.strip() or None


def is_ours(state: EmulatorState) -> bool:
    """Whether the pid still belongs to the emulator this state describes (not a stranger that
    was given the same number)."""
    if not state.identity or MODULE not in state.identity:
        return False
    return is_alive(state.pid) and process_identity(state.pid) == state.identity


def forget_stale(state: EmulatorState) -> None:
    """Remove state that names no emulator of ours, saying so; never signal its pid."""
    state_file().unlink(missing_ok=True)
    why = "a process that is not this emulator" if is_alive(state.pid) else "no running process"
    print(f"note: removed stale emulator state (pid {state.pid} is {why}; left alone)",
          file=sys.stderr, flush=True)  # fmt: skip


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_healthy(port: int, timeout: float = 2.0) -> bool:
    context = ssl.create_default_context(cafile=str(ca_bundle()))
    url = f"https://{HOST}:{port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as reply:
            healthy: bool = reply.status == 200
            return healthy
    except (urllib.error.URLError, OSError):
        return False


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def log_path() -> Path:
    """The emulator's log (moto's server writes one line per request)."""
    return emulator_dir() / "moto.log"


SERVER_ERROR = re.compile(r'" 5\d\d ')
"""A werkzeug access-log line answered with a 5xx."""


def server_errors(log_file: Path | None = None, limit: int = 40) -> str:
    """The emulator log's server errors (5xx answers and tracebacks), the last `limit` lines:
    a 500 the AWS SDK retried can surface in Terraform as an unrelated conflict. The log is this
    checkout's emulator's unless `log_file` names another."""
    log_file = log_file or log_path()
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"no emulator log at {log_file}"
    wanted: list[str] = []
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback:
            in_traceback = line[:1].isspace()  # the exception's own line ends the traceback
        elif not SERVER_ERROR.search(line):
            continue
        wanted.append(line)
    if not wanted:
        return f"the emulator answered no request with a server error ({log_file})"
    return "\n".join([f"emulator server errors ({log_file}):", *wanted[-limit:]])


def _last_log_line(log_file: Path) -> str:
    try:
        lines = [line.strip() for line in log_file.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return "no log"
    return lines[-1] if lines else "empty log"


def start(port: int | None = None) -> EmulatorState:
    """Start the emulator (or return the healthy one already running)."""
    current = read_state()
    if current and is_ours(current) and is_healthy(current.port):
        return current
    if current and is_ours(current):
        stop()  # ours, but it stopped answering
    elif current:
        forget_stale(current)
    if port is not None and not port_is_free(port):
        raise UsageError(
            f"emulator port {port} on {HOST} is taken by another process; "
            "free it or choose another with --port"
        )
    for attempt in range(1, START_ATTEMPTS + 1):
        chosen = port or free_port()
        try:
            return _launch(chosen)
        except _PortTaken as error:
            # Another process bound the port between our choice and moto's bind: pick again.
            if port is not None or attempt == START_ATTEMPTS:
                raise GitopsError(str(error)) from None
    raise AssertionError("unreachable")  # pragma: no cover


class _PortTaken(GitopsError):
    """moto could not bind the port it was given."""


def _launch(port: int) -> EmulatorState:
    """Start moto on `port` and record it once it answers.

    The identity is read only then: right after the fork, `/proc/<pid>/cmdline` may still be
    empty or the parent's, and a state recorded that early named a process that later looked
    like a stranger ("the emulator has died") to the very next command. Until it answers, the
    process is ended through its own handle, since nothing on disk names it yet.
    """
    emulator_dir().mkdir(parents=True, exist_ok=True)
    log_file = log_path()
    environment = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "PYTHONUNBUFFERED": "1"}
    _, cert_file, key_file = emulator_tls(emulator_dir() / "tls", HOST)
    command = [sys.executable, "-m", MODULE,
               "--host", HOST, "--port", str(port),
               "--ssl-cert", str(cert_file), "--ssl-key", str(key_file)]  # fmt: skip
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,  # its own process group, so stop() ends all of it
        )
    try:
        _await_answer(process, port, log_file)
        identity = process_identity(process.pid) or ""
        if MODULE not in identity:
            raise GitopsError(f"emulator pid {process.pid} is not {MODULE} ({identity or 'gone'})")
    except BaseException:
        _end_group(process.pid)  # ours for sure: this process just started it
        raise
    state = EmulatorState(process.pid, port, str(log_file), time.time(), identity)
    _write_state(state)
    return state


def _await_answer(process: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            last = _last_log_line(log_file)
            message = f"emulator died on start (exit {process.returncode}): {last}"
            log_text = log_file.read_text(errors="replace")
            if "Address already in use" in log_text or "is in use by another program" in log_text:
                raise _PortTaken(f"{message}; port {port} was taken, try again")
            raise GitopsError(f"{message}; see {log_file}")
        if is_healthy(port):
            return
        time.sleep(0.2)
    raise GitopsError(
        f"emulator did not answer on {endpoint_on(port)} within {START_TIMEOUT_SECONDS:.0f}s"
        f" and was stopped; see {log_file}"
    )


def _end_group(pid: int) -> bool:
    """SIGTERM the process group `pid` leads, SIGKILL it if it outlives STOP_TIMEOUT_SECONDS;
    False when there is no such process. Callers first make sure the pid is the emulator's."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while is_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if is_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _reap(pid)
    return True


def stop() -> bool:
    """Stop the emulator and forget it; True if one was running. A pid that is not provably
    ours is never signalled (see the module's docstring)."""
    state = read_state()
    if state is None:
        return False
    if not is_ours(state):
        forget_stale(state)
        return False
    ended = _end_group(state.pid)
    state_file().unlink(missing_ok=True)
    return ended


def _reap(pid: int) -> None:
    """Collect the exit status when this process started the emulator (no zombie left)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def require_running() -> EmulatorState:
    """The running emulator, or one line saying why there is none."""
    state = read_state()
    if state is None:
        raise GitopsError("the emulator is not running; start it with `gitops local up`")
    if not is_ours(state):
        raise GitopsError(
            f"the emulator (pid {state.pid}) has died; see {state.log_file}, then `gitops local up`"
        )
    if not is_healthy(state.port):
        raise GitopsError(f"the emulator on {state.endpoint} does not answer; see {state.log_file}")
    return state


def attach(config: EnvironmentConfig) -> EnvironmentConfig:
    """Point an emulated environment at the running emulator (its port is chosen at start)."""
    if config.emulator is None:
        return config
    state = read_state()
    if state is None:
        return config
    return config.model_copy(update={"emulator": EmulatorConfig(endpoint=state.endpoint)})


def aws_environment(config: EnvironmentConfig) -> dict[str, str]:
    """Variables terraform and boto3 need for this environment (credentials only for emulators).

    Real environments get nothing here: their credentials come from OIDC in the pipeline or
    the user's own profile, never from this repository. With `GITOPS_EMULATOR_ROLE` set, an
    emulated environment gets that role's temporary credentials instead of the admin's.
    """
    environment = {"AWS_REGION": config.region, "AWS_DEFAULT_REGION": config.region}
    if config.emulator is not None:
        environment |= EMULATOR_CREDENTIALS | {
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CA_BUNDLE": str(ca_bundle()),
        }
        role = os.environ.get("GITOPS_EMULATOR_ROLE")
        if role:
            from gitops.emulator.iam_enforcement import role_credentials

            environment |= role_credentials(config.emulator.endpoint, str(ca_bundle()), role)
    return environment
