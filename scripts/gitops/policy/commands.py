"""`gitops check`: the policy gate over synthesized stacks."""

from __future__ import annotations

import argparse
import time

from gitops.errors import GitopsError, UsageError
from gitops.stacks import load_configs, read_stack, synthesize


def check(args: argparse.Namespace) -> None:
    from gitops.pipeline import job_summary
    from gitops.policy import gate, reports

    skips = gate.load_skips()  # a skip without a reason stops the gate before any work
    if args.stack_dir:
        if args.environments:
            raise UsageError("give environments or --stack-dir, not both")
        stack_files = [directory / "cdk.tf.json" for directory in args.stack_dir]
        for stack_file in stack_files:
            if not stack_file.is_file():
                raise UsageError(f"{stack_file.parent}: no cdk.tf.json in this folder")
    else:
        configs = load_configs(args.environments)
        if not args.no_synth:
            synthesize(configs, args.outdir)
        stack_files = [args.outdir / "stacks" / c.stack_name / "cdk.tf.json" for c in configs]
        for stack_file in stack_files:
            if not stack_file.is_file():
                raise UsageError(f"{stack_file.parent}: no cdk.tf.json; drop --no-synth")

    for stack_file in stack_files:
        read_stack(stack_file)  # a corrupt stack is one line here, not a checkov traceback
    started = time.perf_counter()
    results = gate.evaluate(stack_files, skips)
    lines = gate.summary_lines(results)
    for line in lines:
        print(line)
    # On the run's page too: where code scanning is off (a private repository without code
    # security) the SARIF upload fails, and this is where a reviewer reads the findings.
    job_summary.append("### Policy gate\n\n```\n" + "\n".join(lines) + "\n```")
    sarif_path, junit_path = reports.write_reports(results, args.report_dir)
    failed = sum(result.count("failed") for result in results)
    print(f"reports: {sarif_path}, {junit_path} ({time.perf_counter() - started:.1f}s)")
    if failed:
        raise GitopsError(f"{failed} failed check(s); fix them or add a reviewed skip")
