"""What every stack-touching command shares: validated environments, synthesis, a fresh plan.

Environment files are validated before any slow work starts, and the jsii runtime is loaded
only when a command really synthesizes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitops.emulator import server as emulator
from gitops.errors import GitopsError, UsageError
from gitops.paths import write_atomically
from gitops.terraform import plan_apply
from gitops.terraform.plan_apply import FAIL_FAST, Planned, StateLocking
from infra.config import REPO_ROOT, ConfigError, EnvironmentConfig
from infra.environments import load_environments


def load_configs(names: Sequence[str]) -> list[EnvironmentConfig]:
    """Validate every named environment file before any work starts (all when none are named)."""
    try:
        return load_environments(list(dict.fromkeys(names)))
    except ConfigError as error:
        raise UsageError(str(error)) from None


def read_stack(stack_file: Path) -> dict[str, Any]:
    """A synthesized stack's JSON, or one line naming the file and why it is not one (a
    truncated or hand-edited `cdk.tf.json` must not reach checkov or the role builder)."""
    try:
        stack = json.loads(stack_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{stack_file}: no synthesized stack here") from None
    except OSError as error:
        raise UsageError(f"{stack_file}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{stack_file}: not a synthesized stack (not UTF-8)") from None
    except (ValueError, RecursionError) as error:
        raise UsageError(f"{stack_file}: not a synthesized stack (not JSON: {error})") from None
    if not isinstance(stack, dict) or not isinstance(stack.get("resource", {}), dict):
        raise UsageError(f"{stack_file}: not a synthesized stack (no object of resources)")
    return stack


def synthesize(configs: list[EnvironmentConfig], outdir: Path) -> list[Path]:
    """Synthesize `configs` into `outdir`; a construct error becomes one line naming the stacks."""
    names = ", ".join(config.name for config in configs)
    # An unusable --outdir fails here, before the jsii runtime takes seconds to load.
    if outdir.exists() and not outdir.is_dir():
        raise GitopsError(f"synth of {names} failed: {outdir} is a file, not a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GitopsError(
            f"synth of {names} failed: cannot create {outdir}: {error.strerror}"
        ) from None
    from infra.app import synthesize as synthesize_app  # loads jsii: only when a command needs it

    try:
        return synthesize_app(configs, outdir)
    except Exception as error:  # jsii surfaces construct errors as RuntimeError and friends
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GitopsError(f"synth of {names} failed: {message}") from error


INPUTS_FILE = ".synth-inputs"
"""Beside a stack synthesized by `synthesize_if_changed`: what it was made from, and its hash."""


def synth_sources() -> list[Path]:
    """What a stack is made from besides its environment's settings: the construct code, the
    locked package versions (cdktf, the provider bindings) and cdktf.json."""
    code = sorted((REPO_ROOT / "infra").rglob("*.py"))
    return [*code, REPO_ROOT / "uv.lock", REPO_ROOT / "cdktf.json"]


def _fingerprint(config: EnvironmentConfig, sources: Sequence[Path]) -> str:
    digest = hashlib.sha256(config.model_dump_json().encode())
    for path in sources:
        digest.update(f"\0{path}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _recorded(stack_dir: Path, inputs: str) -> str:
    stack = stack_dir / "cdk.tf.json"
    return f"{inputs} {hashlib.sha256(stack.read_bytes()).hexdigest()}\n"


def _is_current(stack_dir: Path, inputs: str) -> bool:
    marker = stack_dir / INPUTS_FILE
    if not marker.is_file() or not (stack_dir / "cdk.tf.json").is_file():
        return False
    return marker.read_text() == _recorded(stack_dir, inputs)


def synthesize_if_changed(
    configs: list[EnvironmentConfig], outdir: Path, sources: Sequence[Path] | None = None
) -> list[Path]:
    """`synthesize`, unless every stack is already in `outdir` from the same settings and
    sources, unedited since: a repeated `gitops local up` or `down` then skips the 5 s jsii
    load and the synth. Returns the stack files written (none when all were current)."""
    sources = synth_sources() if sources is None else sources
    inputs = {config.stack_name: _fingerprint(config, sources) for config in configs}
    stack_dirs = {name: outdir / "stacks" / name for name in inputs}
    if all(_is_current(stack_dirs[name], inputs[name]) for name in inputs):
        return []
    written = synthesize(configs, outdir)
    for name, stack_dir in stack_dirs.items():
        write_atomically(stack_dir / INPUTS_FILE, _recorded(stack_dir, inputs[name]))
    return written


def one_config(name: str) -> EnvironmentConfig:
    """One environment, pointed at the running emulator when it is an emulated one."""
    (config,) = load_configs([name])
    if config.emulator is not None:
        emulator.require_running()
        config = emulator.attach(config)
    return config


def planned(
    config: EnvironmentConfig,
    outdir: Path,
    no_synth: bool = False,
    locking: StateLocking = FAIL_FAST,
) -> Planned:
    """Synthesize (unless the synth artifact is already in `outdir`), init and plan `config`,
    treating its state lock as `locking` says."""
    from gitops.emulator.local import runner_for

    runner = runner_for(config)
    stack_dir = outdir / "stacks" / config.stack_name
    if not no_synth:
        synthesize([config], outdir)
    elif not (stack_dir / "cdk.tf.json").is_file():
        raise UsageError(
            f"{stack_dir}: no synthesized stack; run `gitops synth {config.name}` first"
            " or drop --no-synth"
        )
    # A fresh checkout (every CI job) always inits; another plan in the same folder (a laptop,
    # the rehearsal) skips init when its backend and providers are unchanged: 11 to 19 s each.
    plan_apply.init(runner, stack_dir, reuse=True)
    return runner, stack_dir, plan_apply.plan(runner, stack_dir, locking=locking)


def declared_resources(stack_dir: Path) -> int:
    """How many resources a synthesized stack declares: what a first deploy creates."""
    stack = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    return sum(len(of_type) for of_type in stack.get("resource", {}).values())
