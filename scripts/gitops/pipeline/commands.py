"""The pipeline's commands: environments, plan, comment, fingerprint, deploy, drift, release,
promote.

Each is what one workflow step runs; the decisions they take live in the modules beside this
one, as pure functions tested on real plans.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from gitops.errors import GitopsError, UsageError
from gitops.stacks import load_configs, one_config, planned
from infra.environments import environments_dir

PLAN_SUMMARY = "plan-summary.json"


def environments(args: argparse.Namespace) -> None:
    from gitops.pipeline import environments as listing

    configs = load_configs([])
    if args.github_output:
        outputs = listing.workflow_outputs(configs)
        target = listing.write_github_output(outputs)
        print(f"{', '.join(outputs)} written to {target}", file=sys.stderr)
    if args.json:
        print(json.dumps({"environments": [listing.describe(c) for c in configs]}, indent=2))
    else:
        print("\n".join(listing.table(configs)))


def plan(args: argparse.Namespace) -> None:
    from gitops.paths import write_atomically
    from gitops.pipeline import job_summary
    from gitops.pipeline.environment_plan import EnvironmentPlan
    from gitops.pipeline.plan_comment import CommentContext
    from gitops.terraform.plan_apply import PREVIEW
    from gitops.terraform.plan_json import load_plan

    config = one_config(args.environment)
    # The summary belongs to the plan pair: a failed plan must not leave the last one's summary.
    (args.outdir / "stacks" / config.stack_name / PLAN_SUMMARY).unlink(missing_ok=True)
    _, stack_dir, result = planned(config, args.outdir, args.no_synth, PREVIEW)
    environment_plan = EnvironmentPlan.from_plan(config.name, load_plan(result.json_file))
    summary_file = write_atomically(
        stack_dir / PLAN_SUMMARY, json.dumps(environment_plan.to_summary(), sort_keys=True) + "\n"
    )
    job_summary.append_plan([environment_plan], CommentContext(merge_note=False))
    if environment_plan.problem:
        problem = environment_plan.problem
        raise GitopsError(f"{result.json_file}: {problem}; nothing to review or apply")
    print(f"{config.stack_name}: {result.summary()}")
    print(f"fingerprint: {environment_plan.fingerprint}")
    print(f"plan: {result.plan_file}")
    print(f"json: {result.json_file} (raw: may hold secrets, never upload it)")
    print(f"summary: {summary_file} (masked: what the comment job needs)")


def plan_reviewers(args: argparse.Namespace) -> None:
    """pr.yml, before the plan job assumes the plan role: its GitHub environment ENV-plan must
    make a pull request wait for a reviewer where the file asks for one."""
    (config,) = load_configs([args.environment])  # asks GitHub, never the emulator
    settings = config.pipeline
    if not settings.require_plan_reviewers:
        print(
            f"{config.plan_github_environment}: pull requests plan {config.name} without a"
            " reviewer (pipeline.require_plan_reviewers is not set)"
        )
        return
    from gitops.github.client import GitHubClient
    from gitops.pipeline import reviewers

    client = GitHubClient.from_environment()
    print(reviewers.check_reviewers(client, config.name, reviewers.PLANS_REVIEWED))


def deploy(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient

    client = GitHubClient.from_environment()  # a missing setting fails before boto3 loads
    from gitops.bootstrap.state_backend import clients
    from gitops.pipeline import deploy_gate, reviewers, rollout
    from gitops.terraform.plan_apply import DEPLOY

    config = one_config(args.environment)
    settings = config.pipeline
    deploy_gate.run(
        config.name,
        args.commit,
        lambda: planned(config, args.outdir, args.no_synth, DEPLOY),
        client,
        roll_out=lambda: rollout.follow(config, clients(config)),
        required_reviewers=(
            reviewers.RequiredReviewers(settings.reviewers_waiver)
            if settings.require_reviewers
            else None
        ),
    )


def deploy_cancelled(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient
    from gitops.pipeline import deploy_gate

    client = GitHubClient.from_environment()
    config = one_config(args.environment)
    print(deploy_gate.report_cancelled(client, config.name, args.commit))


def drift(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient
    from gitops.pipeline import drift as drift_issues
    from gitops.terraform.plan_apply import PREVIEW

    client = GitHubClient.from_environment()
    configs = [one_config(name) for name in dict.fromkeys(args.environments)]
    for config in configs:
        plan_environment = lambda config=config: planned(  # noqa: E731
            config, args.outdir, args.no_synth, PREVIEW
        )
        print(drift_issues.run(config.name, args.commit, plan_environment, client))


def fingerprint(args: argparse.Namespace) -> None:
    from gitops.terraform.plan_fingerprint import fingerprint_file

    print(fingerprint_file(args.plan_json))


def _policy_summary(args: argparse.Namespace) -> str | None:
    if args.policy_summary_file is None:
        summary: str | None = args.policy_summary
        return summary
    if args.policy_summary:
        raise UsageError("give --policy-summary or --policy-summary-file, not both")
    try:
        return args.policy_summary_file.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise UsageError(f"{args.policy_summary_file}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{args.policy_summary_file}: not UTF-8 (byte at offset {error.start})"
        ) from None


def _run_id() -> int | None:
    """This workflow run's id (`GITHUB_RUN_ID`), recorded in the plan comment's header."""
    value = os.environ.get("GITHUB_RUN_ID", "")
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"GITHUB_RUN_ID: expected a run id (digits), got {value!r}")
    return int(value)


def comment(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient
    from gitops.pipeline import job_summary
    from gitops.pipeline.deploy_gate import run_url
    from gitops.pipeline.environment_plan import EnvironmentPlan, load_environment_plan
    from gitops.pipeline.plan_comment import MARKER, CommentContext, render

    client = GitHubClient.from_environment() if args.post is not None else None
    plans = []
    known = {config.name: config for config in load_configs([])}
    items = list(args.plans)
    if args.plans_dir is not None:
        items += [
            f"{c.name}={args.plans_dir / c.stack_name / PLAN_SUMMARY}"
            for c in known.values()
            if c.pipeline.deploy
        ]
    for item in items:
        environment, separator, path = item.partition("=")
        if not separator or not path:
            raise UsageError(f"{item!r}: expected ENV=PLAN_JSON")
        if environment not in known:
            raise UsageError(f"{item!r}: unknown environment {environment!r}")
        if args.allow_missing and not Path(path).exists():
            plans.append(EnvironmentPlan.missing(environment))
            continue
        plans.append(load_environment_plan(environment, Path(path)))
    context = CommentContext(
        commit=args.commit,
        run_id=_run_id(),
        run_url=args.run_url or run_url(),
        policy_summary=_policy_summary(args),
        no_plan_reason=args.no_plan_reason,
    )
    text = render(plans, context)
    sys.stdout.write(text)
    job_summary.append(text)
    if client is not None:
        action, posted = client.upsert_comment(args.post, f"<!-- {MARKER} ", text)
        print(f"comment {action}: {posted.get('html_url', posted.get('id'))}", file=sys.stderr)


def _first_wave_environment() -> str:
    """Where a new image lands first: the one environment of the first deploy wave."""
    from gitops.pipeline.environments import deployed

    planned = deployed(load_configs([]))
    if not planned:
        raise UsageError("no environment has pipeline.deploy: true; name one")
    first = [c.name for c in planned if c.pipeline.wave == planned[0].pipeline.wave]
    if len(first) > 1:
        raise UsageError(f"the first deploy wave has {', '.join(first)}: name the environment")
    return first[0]


class ProposedChange(Protocol):
    """A reviewed change to environment files: a release or a promotion."""

    def branch_name(self) -> str: ...
    def pr_title(self) -> str: ...
    def pr_body(self) -> str: ...


def source_commit(directory: Path) -> str:
    """The commit the environment files were read from: `GITHUB_SHA` in Actions (the commit the
    job checked out), else the HEAD of the git checkout holding `directory`."""
    sha = os.environ.get("GITHUB_SHA", "")
    if sha:
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise UsageError(f"GITHUB_SHA: expected a full 40-character commit SHA, got {sha!r}")
        return sha
    try:
        found = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        found = None
    if found is None or found.returncode != 0:
        raise UsageError(
            f"{directory}: cannot tell which commit the environment files were read from (not a"
            " git checkout); set GITHUB_SHA to it"
        )
    return found.stdout.strip()


@contextmanager
def _restored_on_failure(directory: Path) -> Iterator[None]:
    """Put the environment files back as they were if the release or promotion fails after
    editing them (GitHub refusing the branch, say): a re-run then starts from the same files,
    instead of finding nothing to release in a checkout nobody meant to change."""
    from gitops.paths import write_atomically

    before = {path: path.read_bytes() for path in directory.glob("*.yaml") if path.is_file()}
    try:
        yield
    except BaseException:
        for path, content in before.items():
            if path.read_bytes() != content:
                write_atomically(path, content.decode("utf-8"))
        raise


def _check_body_file(path: Path | None) -> None:
    """Refuse a --pr-body-file that cannot be written before any environment file changes:
    failing after the edit would leave the file changed and the run reported as failed."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--pr-body-file {path}: is a folder; name a file")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageError(f"--pr-body-file {path}: cannot write in {folder}")


def _propose(
    args: argparse.Namespace,
    change: ProposedChange,
    files: dict[str, bytes],
    source_sha: str | None,
) -> None:
    """Say what the pull request would be; with --open-pr (and `source_sha`, the commit the
    files were read from), push `files` on a branch from that commit and open it."""
    from gitops.github.client import GitHubClient
    from gitops.paths import write_atomically

    client = GitHubClient.from_environment() if args.open_pr else None
    print(f"branch: {change.branch_name()}")
    print(f"title: {change.pr_title()}")
    if args.pr_body_file:
        write_atomically(args.pr_body_file, change.pr_body())
    if client is not None and source_sha is not None:
        action, pull = client.open_pull_request(
            change.branch_name(),
            args.base or os.environ.get("GITHUB_REF_NAME") or "main",
            files,
            change.pr_title(),
            change.pr_body(),
            source_sha,
        )
        print(f"pull request #{pull['number']} {action}: {pull.get('html_url', '')}")


def release(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient
    from gitops.pipeline import promote as promotion
    from gitops.pipeline.release import release as write_release

    source = None
    _check_body_file(args.pr_body_file)
    if args.open_pr:  # missing GitHub settings or commit fail before the file changes
        GitHubClient.from_environment()
        source = source_commit(environments_dir())
    with _restored_on_failure(environments_dir()):
        result = write_release(
            args.env or _first_wave_environment(), args.image_digest, args.app_version or None
        )
        fields = ", ".join(result.changed_fields)
        print(f"released to {result.to_env}: {fields} ({result.target_path})")
        path = promotion.repository_path(result.target_path)
        _propose(args, result, {path: result.target_path.read_bytes()}, source)


def promote(args: argparse.Namespace) -> None:
    from gitops.github.client import GitHubClient
    from gitops.pipeline.promote_wave import promote_wave

    if args.open_pr and args.dry_run:
        raise UsageError("--open-pr and --dry-run exclude each other")
    source = None
    _check_body_file(args.pr_body_file)
    if args.open_pr:  # missing GitHub settings or commit fail before any file changes
        GitHubClient.from_environment()
        source = source_commit(environments_dir())
    with _restored_on_failure(environments_dir()):
        wave = promote_wave(args.from_env, args.to_env, args.scope, dry_run=args.dry_run)
        verb = "would promote" if args.dry_run else "promoted"
        for result in wave.results:
            fields = ", ".join(result.changed_fields)
            print(f"{verb} {result.from_env} -> {result.to_env}: {fields} ({result.target_path})")
        for name in wave.already:
            print(f"unchanged {name}: already runs {wave.from_env}'s release")
        _propose(args, wave, wave.files(), source)
