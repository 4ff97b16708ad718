"""`gitops local up|down|status`: the whole stack in the emulator, in one command each.

`up` starts the emulator (or reuses it), bootstraps the state backend in it, synthesizes
`local` pointed at it, plans and applies with the real provider, and prints the outputs; a
second `up` plans no changes and applies nothing. `down` destroys the stack and stops the
emulator. A failed `up` stops an emulator it started itself, so nothing is left half-running.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitops.bootstrap.state_backend import bootstrap, clients
from gitops.emulator import server as emulator
from gitops.errors import GitopsError
from gitops.terraform import local_apply, plan_apply
from gitops.terraform import runner as terraform
from gitops.terraform.plan_json import describe_counts
from infra.config import EnvironmentConfig
from infra.environments import load_environment

OUTPUT_ORDER = (
    "alb_dns_name",
    "api_endpoint",
    "dashboard_url",
    "vpc_id",
    "ecs_cluster_name",
    "aurora_endpoint",
)

Synthesize = Callable[[list[EnvironmentConfig], Path], list[Path]]


def runner_for(config: EnvironmentConfig) -> terraform.TerraformRunner:
    return terraform.prepare({**os.environ, **emulator.aws_environment(config)})


def _step(label: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:6.1f}s] {label}", flush=True)


def up(synthesize: Synthesize, outdir: Path, port: int | None = None) -> dict[str, object]:
    started = time.perf_counter()
    config = load_environment("local")
    runner_for(config)  # a missing terraform fails here, before anything starts
    previous = emulator.read_state()
    already_running = previous is not None and emulator.is_ours(previous)
    state = emulator.start(port)
    how = "reused" if already_running else "started"
    _step(f"emulator {how}: {state.endpoint} (pid {state.pid}, log {state.log_file})", started)
    try:
        config = emulator.attach(config)
        runner = runner_for(config)
        report = bootstrap(config)
        _step(
            f"state backend: {len(report.created)} created, {len(report.unchanged)} already there",
            started,
        )
        written = synthesize([config], outdir)
        stack_dir = outdir / "stacks" / config.stack_name
        unchanged = f"synth skipped: {stack_dir} is from the same code and settings"
        _step(f"synthesized {stack_dir}" if written else unchanged, started)
        if not plan_apply.init(runner, stack_dir, reuse=True):
            _step("terraform init skipped: backend and providers unchanged", started)
        done = local_apply.plan_and_apply(runner, stack_dir)
        if done.applied:
            _step(f"applied: {describe_counts(done.counts, 'output changes only')}", started)
        else:
            _step("plan: no changes", started)
        values = outputs_in_state(config)
    except BaseException as error:
        if not emulator.is_ours(state):
            # The emulator died under the deploy: that, not the connection errors it caused,
            # is what failed. Its state goes quietly; the log says why it died.
            emulator.state_file().unlink(missing_ok=True)
            raise GitopsError(
                f"the emulator (pid {state.pid}) stopped during the deploy; see"
                f" {state.log_file}, then run `gitops local up` again"
            ) from error
        if not already_running:
            emulator.stop()
        raise
    for name in OUTPUT_ORDER:
        print(f"{name} = {values.get(name)}")
    return values


def down(synthesize: Synthesize, outdir: Path) -> None:
    started = time.perf_counter()
    state = emulator.read_state()
    if state is None or not emulator.is_ours(state):
        emulator.stop()  # forgets stale state, signalling nothing
        print("the emulator is not running; nothing to destroy")
        return
    config = emulator.attach(load_environment("local"))
    runner = runner_for(config)
    try:
        synthesize([config], outdir)
        stack_dir = outdir / "stacks" / config.stack_name
        plan_apply.init(runner, stack_dir, reuse=True)
        # No refresh: the emulator holds the state and the resources, and nothing else changes
        # them; re-reading all 110 first cost about 20 s and changed nothing.
        plan_apply.destroy(runner, stack_dir, refresh=False)
        _step("destroyed every resource of fraud-detection-local", started)
    finally:
        # Even when destroy fails: the emulator keeps everything in memory, so stopping it
        # leaves nothing behind, and `down` must never leave a process running.
        emulator.stop()
        _step(f"emulator stopped (pid {state.pid})", started)


def status() -> list[str]:
    state = emulator.read_state()
    if state is None:
        return ["emulator: not running"]
    alive = emulator.is_ours(state)
    healthy = alive and emulator.is_healthy(state.port)
    lines = [
        f"emulator: {'running' if healthy else 'NOT answering' if alive else 'dead'} "
        f"(pid {state.pid}) at {state.endpoint}",
        f"log: {state.log_file}",
    ]
    if healthy:
        config = emulator.attach(load_environment("local"))
        lines.append(f"fraud-detection-local: {resources_in_state(config)}")
    return lines


def remote_state(config: EnvironmentConfig) -> dict[str, Any] | None:
    """The environment's Terraform state, read from its bucket; None before the first apply."""
    s3 = clients(config)("s3")
    try:
        body = s3.get_object(Bucket=config.state.bucket, Key=config.state.key)["Body"].read()
    except Exception as error:
        if "NoSuch" in type(error).__name__ or "NoSuch" in str(error):
            return None
        raise GitopsError(f"cannot read the state of {config.name}: {error}") from None
    state: dict[str, Any] = json.loads(body)
    return state


def outputs_in_state(config: EnvironmentConfig) -> dict[str, object]:
    """The stack's outputs as `terraform output` gives them (sensitive ones as `(sensitive)`),
    read from the state it reads them from, without starting terraform again."""
    state = remote_state(config)
    if state is None:
        raise GitopsError(f"no state for {config.name} after the apply")
    return {
        name: "(sensitive)" if body.get("sensitive") else body.get("value")
        for name, body in state.get("outputs", {}).items()
    }


def resources_in_state(config: EnvironmentConfig) -> str:
    """How many resources the remote state of an environment holds."""
    state = remote_state(config)
    if state is None:
        return "not deployed (no state)"
    resources = [r for r in state.get("resources", []) if r.get("mode") == "managed"]
    return f"{len(resources)} resources in state s3://{config.state.bucket}/{config.state.key}"
