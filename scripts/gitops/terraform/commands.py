"""`gitops synth`, `validate` and `apply`: the stacks as Terraform sees them."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from gitops.stacks import load_configs, one_config, planned, synthesize
from infra.config import EnvironmentConfig

VALIDATE_WORKERS = 2


def synth(args: argparse.Namespace) -> None:
    from gitops.emulator import server as emulator

    # An emulated environment points at the running emulator, if one runs, so that a later
    # `plan --no-synth` reaches it; check and validate keep the file's endpoint (no effect).
    configs = [emulator.attach(config) for config in load_configs(args.environments)]
    started = time.perf_counter()
    written = synthesize(configs, args.outdir)
    elapsed = time.perf_counter() - started
    for path in written:
        print(f"synthesized {path}")
    print(f"{len(written)} stack(s) in {elapsed:.1f}s")


def validate(args: argparse.Namespace) -> None:
    from gitops.terraform import runner as terraform

    configs = load_configs(args.environments)
    runner = terraform.prepare()  # fails fast on a missing terraform, before the slow synth
    synthesize(configs, args.outdir)

    def validate_one(config: EnvironmentConfig) -> str:
        started = time.perf_counter()
        terraform.validate_stack(runner, args.outdir / "stacks" / config.stack_name)
        return f"{config.stack_name}: valid ({time.perf_counter() - started:.1f}s)"

    # The first stack alone fills the shared plugin cache (Terraform's cache is unsafe for
    # concurrent installs); the rest only link from it, two at a time, which halves the wall
    # time on a 2-core machine. Results print in the order the environments were named.
    first, rest = configs[0], configs[1:]
    print(validate_one(first), flush=True)
    with ThreadPoolExecutor(max_workers=VALIDATE_WORKERS) as pool:
        for line in pool.map(validate_one, rest):
            print(line)


def apply(args: argparse.Namespace) -> None:
    from gitops.terraform import plan_apply

    config = one_config(args.environment)
    runner, stack_dir, plan = planned(config, args.outdir, no_synth=args.no_synth)
    print(f"{config.stack_name}: {plan.summary()}")
    if plan.has_changes:
        plan_apply.apply(runner, stack_dir, plan.plan_file)
    for name, value in plan_apply.outputs(runner, stack_dir).items():
        print(f"{name} = {value}")
