"""`gitops`: the command the Makefile, the workflows and people run.

Each subcommand validates its input before doing any slow work (the jsii runtime is loaded
only by commands that synthesize), prints one line and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitops.errors import GitopsError, UsageError
from gitops.paths import default_outdir
from infra.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_environment

VALIDATE_WORKERS = 2

# jsii warns on every start that Node 20 is past its end of life; it works, so keep logs readable.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _load_configs(names: Sequence[str]) -> list[EnvironmentConfig]:
    """Validate every named environment file before any work starts (all when none are named)."""
    unique = list(dict.fromkeys(names)) or list(ENVIRONMENTS)
    try:
        return [load_environment(name) for name in unique]
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _synthesize(configs: list[EnvironmentConfig], outdir: Path) -> list[Path]:
    from infra.app import synthesize  # loads jsii: only when a command needs it

    try:
        return synthesize(configs, outdir)
    except Exception as error:  # jsii surfaces construct errors as RuntimeError and friends
        names = ", ".join(config.name for config in configs)
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GitopsError(f"synth of {names} failed: {message}") from error


def command_synth(args: argparse.Namespace) -> None:
    configs = _load_configs(args.environments)
    started = time.perf_counter()
    written = _synthesize(configs, args.outdir)
    elapsed = time.perf_counter() - started
    for path in written:
        print(f"synthesized {path}")
    print(f"{len(written)} stack(s) in {elapsed:.1f}s")


def command_validate(args: argparse.Namespace) -> None:
    from gitops import terraform

    configs = _load_configs(args.environments)
    runner = terraform.prepare()  # fails fast on a missing terraform, before the slow synth
    _synthesize(configs, args.outdir)

    def validate(config: EnvironmentConfig) -> str:
        started = time.perf_counter()
        terraform.validate_stack(runner, args.outdir / "stacks" / config.stack_name)
        return f"{config.stack_name}: valid ({time.perf_counter() - started:.1f}s)"

    # Each validate is one terraform process loading the provider schema; two at a time halves
    # the wall time on a 2-core machine. Results print in the order the environments were named.
    with ThreadPoolExecutor(max_workers=VALIDATE_WORKERS) as pool:
        for line in pool.map(validate, configs):
            print(line)


def command_check(args: argparse.Namespace) -> None:
    from gitops import policy, policy_reports

    skips = policy.load_skips()  # a skip without a reason stops the gate before any work
    if args.stack_dir is not None:
        if args.environments:
            raise UsageError("give environments or --stack-dir, not both")
        stack_file = args.stack_dir / "cdk.tf.json"
        if not stack_file.is_file():
            raise UsageError(f"{args.stack_dir}: no cdk.tf.json in this folder")
        stack_files = [stack_file]
    else:
        configs = _load_configs(args.environments)
        _synthesize(configs, args.outdir)
        stack_files = [args.outdir / "stacks" / c.stack_name / "cdk.tf.json" for c in configs]

    started = time.perf_counter()
    results = policy.evaluate(stack_files, skips)
    for line in policy.summary_lines(results):
        print(line)
    sarif_path, junit_path = policy_reports.write_reports(results, args.report_dir)
    failed = sum(result.count("failed") for result in results)
    print(f"reports: {sarif_path}, {junit_path} ({time.perf_counter() - started:.1f}s)")
    if failed:
        raise GitopsError(f"{failed} failed check(s); fix them or add a reviewed skip")


def _one_config(name: str) -> EnvironmentConfig:
    """One environment, pointed at the running emulator when it is an emulated one."""
    from gitops import emulator

    (config,) = _load_configs([name])
    if config.emulator is not None:
        emulator.require_running()
        config = emulator.attach(config)
    return config


def command_bootstrap(args: argparse.Namespace) -> None:
    from gitops.bootstrap import bootstrap
    from gitops.github_oidc import check_repository
    from gitops.paths import work_dir

    repository = check_repository(args.github_repository) if args.github_repository else None
    config = _one_config(args.environment)
    report = bootstrap(config, repository)
    for item in report.created:
        print(f"created   {item}")
    for item in report.unchanged:
        print(f"unchanged {item}")
    print(f"{config.name}: state backend ready ({len(report.created)} created)")
    if report.role_arns:
        roles_file = work_dir() / "roles" / f"{config.name}.json"
        roles_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = roles_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(report.role_arns, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, roles_file)
        print(f"role ARNs written to {roles_file}; set them as repository variables:")
        for name, arn in sorted(report.role_arns.items()):
            print(f"  AWS_{name.upper()}_ARN_{config.name.upper()}={arn}")


def _planned(config: EnvironmentConfig, outdir: Path):
    from gitops import deploy
    from gitops.local import runner_for

    runner = runner_for(config)
    _synthesize([config], outdir)
    stack_dir = outdir / "stacks" / config.stack_name
    deploy.init(runner, stack_dir)
    return runner, stack_dir, deploy.plan(runner, stack_dir)


def command_plan(args: argparse.Namespace) -> None:
    config = _one_config(args.environment)
    _, _, planned = _planned(config, args.outdir)
    print(f"{config.stack_name}: {planned.summary()}")
    print(f"plan: {planned.plan_file}")
    print(f"json: {planned.json_file}")


def command_apply(args: argparse.Namespace) -> None:
    from gitops import deploy

    config = _one_config(args.environment)
    runner, stack_dir, planned = _planned(config, args.outdir)
    print(f"{config.stack_name}: {planned.summary()}")
    if planned.has_changes:
        deploy.apply(runner, stack_dir, planned.plan_file)
    for name, value in deploy.outputs(runner, stack_dir).items():
        print(f"{name} = {value}")


def command_local(args: argparse.Namespace) -> None:
    from gitops import local

    if args.action == "up":
        _load_configs(["local"])
        local.up(_synthesize, args.outdir, args.port)
    elif args.action == "down":
        local.down(_synthesize, args.outdir)
    else:
        for line in local.status():
            print(line)


def command_fingerprint(args: argparse.Namespace) -> None:
    from gitops.plan_json import fingerprint, load_plan

    print(fingerprint(load_plan(args.plan_json)))


def command_comment(args: argparse.Namespace) -> None:
    from gitops.plan_comment import CommentContext, EnvironmentPlan, render
    from gitops.plan_json import load_plan

    plans = []
    for item in args.plans:
        environment, separator, path = item.partition("=")
        if not separator or not path:
            raise UsageError(f"{item!r}: expected ENV=PLAN_JSON")
        if environment not in ENVIRONMENTS:
            raise UsageError(f"{item!r}: unknown environment {environment!r}")
        plans.append(EnvironmentPlan.from_plan(environment, load_plan(Path(path))))
    context = CommentContext(
        commit=args.commit,
        run_url=args.run_url,
        policy_summary=args.policy_summary,
        no_plan_reason=args.no_plan_reason,
    )
    sys.stdout.write(render(plans, context))


def command_promote(args: argparse.Namespace) -> None:
    from gitops import promote

    act = promote.plan_promotion if args.dry_run else promote.promote
    result = act(args.from_env, args.to_env)
    verb = "would promote" if args.dry_run else "promoted"
    fields = ", ".join(result.changed_fields)
    print(f"{verb} {result.from_env} -> {result.to_env}: {fields} ({result.target_path})")
    print(f"branch: {result.branch_name()}")
    print(f"title: {result.pr_title()}")
    if args.pr_body_file:
        temporary = args.pr_body_file.with_suffix(args.pr_body_file.suffix + ".tmp")
        temporary.write_text(result.pr_body())
        os.replace(temporary, args.pr_body_file)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; print the error alone, on one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="gitops", description="Synthesize, validate and ship the fraud-detection stacks."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def environments_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "environments",
            nargs="*",
            metavar="ENV",
            help=f"environments to act on ({', '.join(ENVIRONMENTS)}); all when left out",
        )
        sub.add_argument(
            "--outdir",
            type=Path,
            default=default_outdir(),
            help="where stacks are synthesized (default: cdktf.out at the repository root)",
        )

    synth = commands.add_parser("synth", help="write cdktf.out/stacks/fraud-detection-<env>/")
    environments_argument(synth)
    synth.set_defaults(handler=command_synth)

    validate = commands.add_parser(
        "validate", help="synth, then terraform init -backend=false and validate each stack"
    )
    environments_argument(validate)
    validate.set_defaults(handler=command_validate)

    check = commands.add_parser(
        "check", help="policy gate: checkov built-in and custom checks, reviewed skips"
    )
    environments_argument(check)
    check.add_argument(
        "--stack-dir", type=Path, help="check this synthesized stack folder instead of synthesizing"
    )
    check.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where policy.sarif and policy-junit.xml go (default: reports/)",
    )
    check.set_defaults(handler=command_check)

    def environment_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("environment", metavar="ENV", help=", ".join(ENVIRONMENTS))
        sub.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)

    bootstrap = commands.add_parser(
        "bootstrap", help="create the state bucket and lock table of ENV (idempotent)"
    )
    environment_argument(bootstrap)
    bootstrap.add_argument(
        "--github-repository",
        metavar="OWNER/NAME",
        help="also create GitHub's OIDC provider and the plan/apply roles trusting this repository",
    )
    bootstrap.set_defaults(handler=command_bootstrap)

    plan = commands.add_parser("plan", help="synth ENV, init its backend, plan to a file + JSON")
    environment_argument(plan)
    plan.set_defaults(handler=command_plan)

    apply = commands.add_parser("apply", help="plan ENV and apply exactly that plan")
    environment_argument(apply)
    apply.set_defaults(handler=command_apply)

    fingerprint = commands.add_parser(
        "fingerprint", help="one line: a digest of what a plan JSON would change"
    )
    fingerprint.add_argument("plan_json", type=Path, metavar="PLAN_JSON")
    fingerprint.set_defaults(handler=command_fingerprint)

    comment = commands.add_parser(
        "comment", help="markdown of the pull-request plan comment, from plan JSON files"
    )
    comment.add_argument("plans", nargs="*", metavar="ENV=PLAN_JSON")
    comment.add_argument("--commit", help="the commit the plans are for")
    comment.add_argument("--run-url", help="link to the workflow run")
    comment.add_argument("--policy-summary", help="one line from `gitops check`")
    comment.add_argument("--no-plan-reason", help="say why there is no plan (e.g. a fork)")
    comment.set_defaults(handler=command_comment)

    promote = commands.add_parser(
        "promote", help="copy the release section of one environment file into the next"
    )
    promote.add_argument("--from", dest="from_env", required=True, metavar="ENV")
    promote.add_argument("--to", dest="to_env", required=True, metavar="ENV")
    promote.add_argument(
        "--dry-run", action="store_true", help="say what would move; write nothing"
    )
    promote.add_argument("--pr-body-file", type=Path, help="write the pull request's body here")
    promote.set_defaults(handler=command_promote)

    local = commands.add_parser("local", help="the whole stack in a local AWS emulator")
    local.add_argument("action", choices=("up", "down", "status"))
    local.add_argument("--port", type=int, help="emulator port (default: a free one)")
    local.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)
    local.set_defaults(handler=command_local)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except GitopsError as error:
        print(f"gitops {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"gitops {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
