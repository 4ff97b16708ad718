"""`gitops`: the command the Makefile, the workflows and people run.

Each subcommand validates its input before doing any slow work (the jsii runtime is loaded
only by commands that synthesize), prints one line and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitops.errors import GitopsError, UsageError
from gitops.paths import default_outdir
from infra.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_environment

VALIDATE_WORKERS = 2
PLAN_SUMMARY = "plan-summary.json"

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
    from gitops import emulator

    # An emulated environment points at the running emulator, if one runs, so that a later
    # `plan --no-synth` reaches it; check and validate keep the file's endpoint (no effect).
    configs = [emulator.attach(config) for config in _load_configs(args.environments)]
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
    if args.stack_dir:
        if args.environments:
            raise UsageError("give environments or --stack-dir, not both")
        stack_files = [directory / "cdk.tf.json" for directory in args.stack_dir]
        for stack_file in stack_files:
            if not stack_file.is_file():
                raise UsageError(f"{stack_file.parent}: no cdk.tf.json in this folder")
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
    from gitops.paths import work_dir, write_atomically

    repository = check_repository(args.github_repository) if args.github_repository else None
    config = _one_config(args.environment)
    report = bootstrap(config, repository)
    for item in report.created:
        print(f"created   {item}")
    for item in report.unchanged:
        print(f"unchanged {item}")
    print(f"{config.name}: state backend ready ({len(report.created)} created)")
    if report.role_arns:
        roles_file = write_atomically(
            work_dir() / "roles" / f"{config.name}.json",
            json.dumps(report.role_arns, indent=2, sort_keys=True) + "\n",
        )
        print(f"role ARNs written to {roles_file}; set them as repository variables:")
        for name, arn in sorted(report.role_arns.items()):
            print(f"  AWS_{name.upper()}_ARN_{config.name.upper()}={arn}")


def _planned(config: EnvironmentConfig, outdir: Path, no_synth: bool = False):
    """Synthesize (unless the synth artifact is already in `outdir`), init and plan `config`."""
    from gitops import deploy
    from gitops.local import runner_for

    runner = runner_for(config)
    stack_dir = outdir / "stacks" / config.stack_name
    if not no_synth:
        _synthesize([config], outdir)
    elif not (stack_dir / "cdk.tf.json").is_file():
        raise UsageError(
            f"{stack_dir}: no synthesized stack; run `gitops synth {config.name}` first"
            " or drop --no-synth"
        )
    deploy.init(runner, stack_dir)
    return runner, stack_dir, deploy.plan(runner, stack_dir)


def command_plan(args: argparse.Namespace) -> None:
    from gitops import job_summary
    from gitops.paths import write_atomically
    from gitops.plan_comment import CommentContext, EnvironmentPlan
    from gitops.plan_json import load_plan

    config = _one_config(args.environment)
    _, stack_dir, planned = _planned(config, args.outdir, args.no_synth)
    plan = EnvironmentPlan.from_plan(config.name, load_plan(planned.json_file))
    summary_file = write_atomically(
        stack_dir / PLAN_SUMMARY, json.dumps(plan.to_summary(), sort_keys=True) + "\n"
    )
    job_summary.append_plan([plan], CommentContext(merge_note=False))
    if plan.problem:
        raise GitopsError(f"{planned.json_file}: {plan.problem}; nothing to review or apply")
    print(f"{config.stack_name}: {planned.summary()}")
    print(f"fingerprint: {plan.fingerprint}")
    print(f"plan: {planned.plan_file}")
    print(f"json: {planned.json_file} (raw: may hold secrets, never upload it)")
    print(f"summary: {summary_file} (masked: what the comment job needs)")


def command_apply(args: argparse.Namespace) -> None:
    from gitops import deploy

    config = _one_config(args.environment)
    runner, stack_dir, planned = _planned(config, args.outdir)
    print(f"{config.stack_name}: {planned.summary()}")
    if planned.has_changes:
        deploy.apply(runner, stack_dir, planned.plan_file)
    for name, value in deploy.outputs(runner, stack_dir).items():
        print(f"{name} = {value}")


def command_deploy(args: argparse.Namespace) -> None:
    from gitops import deploy_gate
    from gitops.github_api import GitHubClient

    client = GitHubClient.from_environment()
    config = _one_config(args.environment)
    deploy_gate.run(
        config.name,
        args.commit,
        lambda: _planned(config, args.outdir, args.no_synth),
        client,
    )


def command_drift(args: argparse.Namespace) -> None:
    from gitops import drift
    from gitops.github_api import GitHubClient

    client = GitHubClient.from_environment()
    configs = [_one_config(name) for name in dict.fromkeys(args.environments)]
    for config in configs:
        plan_environment = lambda config=config: _planned(config, args.outdir, args.no_synth)  # noqa: E731
        print(drift.run(config.name, args.commit, plan_environment, client))


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
    from gitops.plan_json import fingerprint_file

    print(fingerprint_file(args.plan_json))


def _policy_summary(args: argparse.Namespace) -> str | None:
    if args.policy_summary_file is None:
        return args.policy_summary
    if args.policy_summary:
        raise UsageError("give --policy-summary or --policy-summary-file, not both")
    try:
        return args.policy_summary_file.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise UsageError(f"{args.policy_summary_file}: cannot read ({error.strerror})") from None


def command_comment(args: argparse.Namespace) -> None:
    from gitops import job_summary
    from gitops.deploy_gate import run_url
    from gitops.github_api import GitHubClient
    from gitops.plan_comment import (
        MARKER,
        CommentContext,
        EnvironmentPlan,
        load_environment_plan,
        render,
    )

    client = GitHubClient.from_environment() if args.post is not None else None
    plans = []
    for item in args.plans:
        environment, separator, path = item.partition("=")
        if not separator or not path:
            raise UsageError(f"{item!r}: expected ENV=PLAN_JSON")
        if environment not in ENVIRONMENTS:
            raise UsageError(f"{item!r}: unknown environment {environment!r}")
        if args.allow_missing and not Path(path).exists():
            plans.append(EnvironmentPlan.missing(environment))
            continue
        plans.append(load_environment_plan(environment, Path(path)))
    context = CommentContext(
        commit=args.commit,
        run_url=args.run_url or run_url(),
        policy_summary=_policy_summary(args),
        no_plan_reason=args.no_plan_reason,
    )
    text = render(plans, context)
    sys.stdout.write(text)
    job_summary.append(text)
    if client is not None:
        action, comment = client.upsert_comment(args.post, f"<!-- {MARKER} ", text)
        print(f"comment {action}: {comment.get('html_url', comment.get('id'))}", file=sys.stderr)


def command_promote(args: argparse.Namespace) -> None:
    from gitops import promote
    from gitops.github_api import GitHubClient
    from gitops.paths import write_atomically

    if args.open_pr and args.dry_run:
        raise UsageError("--open-pr and --dry-run exclude each other")
    client = GitHubClient.from_environment() if args.open_pr else None
    act = promote.plan_promotion if args.dry_run else promote.promote
    result = act(args.from_env, args.to_env)
    verb = "would promote" if args.dry_run else "promoted"
    fields = ", ".join(result.changed_fields)
    print(f"{verb} {result.from_env} -> {result.to_env}: {fields} ({result.target_path})")
    print(f"branch: {result.branch_name()}")
    print(f"title: {result.pr_title()}")
    if args.pr_body_file:
        write_atomically(args.pr_body_file, result.pr_body())
    if client is not None:
        pull = client.open_pull_request(
            result.branch_name(),
            args.base or os.environ.get("GITHUB_REF_NAME") or "main",
            {promote.repository_path(result.target_path): result.target_path.read_text()},
            result.pr_title(),
            result.pr_body(),
        )
        print(f"pull request #{pull['number']} opened: {pull.get('html_url', '')}")


def _commit(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{40}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a full 40-character commit SHA")
    return value


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
        "--stack-dir",
        type=Path,
        action="append",
        help="check this synthesized stack folder instead of synthesizing (repeatable)",
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

    def pipeline_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--no-synth",
            action="store_true",
            help="use the stack already synthesized in cdktf.out (the workflow's synth artifact)",
        )

    pipeline_arguments(plan)

    deploy = commands.add_parser(
        "deploy",
        help="the job after a merge: plan ENV, apply it only if it is the plan reviewed in the PR",
    )
    environment_argument(deploy)
    deploy.add_argument(
        "--commit", required=True, type=_commit, help="the merge commit on main being deployed"
    )
    pipeline_arguments(deploy)
    deploy.set_defaults(handler=command_deploy)

    drift = commands.add_parser(
        "drift", help="plan each ENV; open, update or close its drift issue (applies nothing)"
    )
    drift.add_argument("environments", nargs="+", metavar="ENV", help=", ".join(ENVIRONMENTS))
    drift.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)
    drift.add_argument("--commit", type=_commit, help="the commit of main being compared")
    pipeline_arguments(drift)
    drift.set_defaults(handler=command_drift)

    fingerprint = commands.add_parser(
        "fingerprint", help="one line: a digest of what a plan JSON would change"
    )
    fingerprint.add_argument("plan_json", type=Path, metavar="PLAN_JSON")
    fingerprint.set_defaults(handler=command_fingerprint)

    comment = commands.add_parser(
        "comment", help="markdown of the pull-request plan comment, from plan JSON files"
    )
    comment.add_argument(
        "plans",
        nargs="*",
        metavar="ENV=PLAN_JSON",
        help="`terraform show -json` output or the plan-summary.json `gitops plan` writes",
    )
    comment.add_argument("--commit", help="the commit the plans are for")
    comment.add_argument("--run-url", help="link to the workflow run")
    comment.add_argument("--policy-summary", help="one line from `gitops check`")
    comment.add_argument(
        "--policy-summary-file", type=Path, help="reports/policy-summary.txt of `gitops check`"
    )
    comment.add_argument("--no-plan-reason", help="say why there is no plan (e.g. a fork)")
    comment.add_argument(
        "--allow-missing",
        action="store_true",
        help="a missing plan file means that environment's plan job failed: say so, go on",
    )
    comment.add_argument(
        "--post",
        type=int,
        metavar="PR_NUMBER",
        help="also create or update the plan comment on this pull request (needs GITHUB_TOKEN)",
    )
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
    promote.add_argument(
        "--open-pr",
        action="store_true",
        help="push the edited file to a new branch and open the pull request (needs GITHUB_TOKEN)",
    )
    promote.add_argument(
        "--base", help="branch the pull request targets (default: GITHUB_REF_NAME, else main)"
    )
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
