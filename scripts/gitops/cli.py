"""`gitops`: the command the Makefile, the workflows and people run.

This module is the parser and the dispatch only; each command lives with its concern
(`terraform/`, `policy/`, `bootstrap/`, `pipeline/`, `emulator/`). Every subcommand validates
its input before any slow work (the jsii runtime is loaded only by commands that synthesize),
prints one line and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops.errors import GitopsError
from gitops.paths import default_outdir

# jsii warns on every start that Node 20 is past its end of life; it works, so keep logs readable.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _commit(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{40}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a full 40-character commit SHA")
    return value


@dataclass(frozen=True)
class Handler:
    """A command's function in `gitops.<concern>.commands`, imported only when the command runs:
    each command pays for its own imports (boto3, the emulator, GitHub), not every concern's."""

    concern: str
    function: str

    def __call__(self, args: argparse.Namespace) -> None:
        module = importlib.import_module(f"gitops.{self.concern}.commands")
        getattr(module, self.function)(args)


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
            help="environments to act on (environments/<ENV>.yaml); all when left out",
        )
        sub.add_argument(
            "--outdir",
            type=Path,
            default=default_outdir(),
            help="where stacks are synthesized (default: cdktf.out at the repository root)",
        )

    synth = commands.add_parser("synth", help="write cdktf.out/stacks/fraud-detection-<env>/")
    environments_argument(synth)
    synth.set_defaults(handler=Handler("terraform", "synth"))

    validate = commands.add_parser(
        "validate", help="synth, then terraform init -backend=false and validate each stack"
    )
    environments_argument(validate)
    validate.set_defaults(handler=Handler("terraform", "validate"))

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
        "--no-synth",
        action="store_true",
        help="check the environments' stacks already in cdktf.out (the workflows' synth artifact)",
    )
    check.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where policy.sarif and policy-junit.xml go (default: reports/)",
    )
    check.set_defaults(handler=Handler("policy", "check"))

    def environment_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("environment", metavar="ENV", help="an environments/<ENV>.yaml file")
        sub.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)

    bootstrap = commands.add_parser(
        "bootstrap", help="create the state bucket and lock table of ENV (idempotent)"
    )
    environment_argument(bootstrap)
    bootstrap.add_argument(
        "--github-repository",
        metavar="OWNER/NAME",
        help="also create GitHub's OIDC provider, the boundary and the plan/apply roles",
    )
    bootstrap.set_defaults(handler=Handler("bootstrap", "bootstrap"))

    roles = commands.add_parser(
        "roles", help="JSON: the plan and apply roles and the boundary bootstrap creates for ENV"
    )
    environment_argument(roles)
    roles.add_argument("--github-repository", metavar="OWNER/NAME", required=True)
    roles.add_argument(
        "--no-synth", action="store_true", help="read the stack already synthesized in cdktf.out"
    )
    roles.set_defaults(handler=Handler("bootstrap", "roles"))

    plan = commands.add_parser("plan", help="synth ENV, init its backend, plan to a file + JSON")
    environment_argument(plan)
    plan.set_defaults(handler=Handler("pipeline", "plan"))

    plan_reviewers = commands.add_parser(
        "plan-reviewers",
        help="before a pull request's plan of ENV gets credentials: refuse while the GitHub"
        " environment ENV-plan lacks the reviewers the file asks for",
    )
    plan_reviewers.add_argument(
        "environment", metavar="ENV", help="an environments/<ENV>.yaml file"
    )
    plan_reviewers.set_defaults(handler=Handler("pipeline", "plan_reviewers"))

    apply = commands.add_parser("apply", help="plan ENV and apply exactly that plan")
    environment_argument(apply)
    apply.set_defaults(handler=Handler("terraform", "apply"))

    def pipeline_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--no-synth",
            action="store_true",
            help="use the stack already synthesized in cdktf.out (the workflow's synth artifact)",
        )

    pipeline_arguments(plan)
    pipeline_arguments(apply)

    deploy = commands.add_parser(
        "deploy",
        help="the job after a merge: plan ENV, apply it only if it is the plan reviewed in the PR",
    )
    environment_argument(deploy)
    deploy.add_argument(
        "--commit", required=True, type=_commit, help="the merge commit on main being deployed"
    )
    pipeline_arguments(deploy)
    deploy.set_defaults(handler=Handler("pipeline", "deploy"))

    deploy_cancelled = commands.add_parser(
        "deploy-cancelled",
        help="the job after a cancelled deploy of ENV: open or update its deploy-failure issue",
    )
    environment_argument(deploy_cancelled)
    deploy_cancelled.add_argument(
        "--commit", required=True, type=_commit, help="the commit whose deploy was cancelled"
    )
    deploy_cancelled.set_defaults(handler=Handler("pipeline", "deploy_cancelled"))

    drift = commands.add_parser(
        "drift", help="plan each ENV; open, update or close its drift issue (applies nothing)"
    )
    drift.add_argument("environments", nargs="+", metavar="ENV", help="environments to check")
    drift.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)
    drift.add_argument("--commit", type=_commit, help="the commit of main being compared")
    pipeline_arguments(drift)
    drift.set_defaults(handler=Handler("pipeline", "drift"))

    fingerprint = commands.add_parser(
        "fingerprint", help="one line: a digest of what a plan JSON would change"
    )
    fingerprint.add_argument("plan_json", type=Path, metavar="PLAN_JSON")
    fingerprint.set_defaults(handler=Handler("pipeline", "fingerprint"))

    comment = commands.add_parser(
        "comment", help="markdown of the pull-request plan comment, from plan JSON files"
    )
    comment.add_argument(
        "plans",
        nargs="*",
        metavar="ENV=PLAN_JSON",
        help="`terraform show -json` output or the plan-summary.json `gitops plan` writes",
    )
    comment.add_argument(
        "--plans-dir",
        type=Path,
        help="a folder of fraud-detection-<env>/plan-summary.json: one plan per environment the"
        " pipeline deploys, as the plan jobs' artifacts hold them",
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
    comment.set_defaults(handler=Handler("pipeline", "comment"))

    promote = commands.add_parser(
        "promote", help="copy the release section of one environment file into the next"
    )
    promote.add_argument("--from", dest="from_env", required=True, metavar="ENV")
    promote.add_argument("--to", dest="to_env", required=True, metavar="ENV")
    promote.add_argument(
        "--scope",
        choices=("wave", "environment"),
        default="wave",
        help="wave (default): every environment of --to's deploy wave; environment: --to alone",
    )
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
    promote.set_defaults(handler=Handler("pipeline", "promote"))

    release = commands.add_parser(
        "release", help="put a new image (digest, version) in one environment's release section"
    )
    release.add_argument(
        "env", metavar="ENV", nargs="?", help="left out: the environment of the first deploy wave"
    )
    release.add_argument("--image-digest", required=True, metavar="sha256:HEX")
    release.add_argument(
        "--app-version", metavar="V", help="semantic version; left out or empty, kept"
    )
    release.add_argument("--pr-body-file", type=Path, help="write the pull request's body here")
    release.add_argument(
        "--open-pr",
        action="store_true",
        help="push the edited file to release/<env>/<version>-<digest12> and open the pull request",
    )
    release.add_argument(
        "--base", help="branch the pull request targets (default: GITHUB_REF_NAME, else main)"
    )
    release.set_defaults(handler=Handler("pipeline", "release"))

    environments = commands.add_parser(
        "environments",
        help="every environment: region, account, deploy wave, role ARNs, state (the matrices)",
    )
    environments.add_argument("--json", action="store_true", help="print JSON, for tools")
    environments.add_argument(
        "--github-output",
        action="store_true",
        help="also write the workflows' matrices (plan, wave_1..wave_N) to $GITHUB_OUTPUT",
    )
    environments.set_defaults(handler=Handler("pipeline", "environments"))

    local = commands.add_parser("local", help="the whole stack in a local AWS emulator")
    local.add_argument("action", choices=("up", "down", "status"))
    local.add_argument("--port", type=int, help="emulator port (default: a free one)")
    local.add_argument("--outdir", type=Path, default=default_outdir(), help=argparse.SUPPRESS)
    local.set_defaults(handler=Handler("emulator", "local"))
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
