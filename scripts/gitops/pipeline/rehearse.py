"""`make rehearse`: a change's whole path through the workflows, offline, step by step.

The steps are the `gitops` commands the workflows run, in their order, as separate processes
with the variables Actions would set; AWS is the local emulator and GitHub is the loopback
stand-in (`gitops.github.standin`). Everything lives in a scratch folder with its own emulator
and its own copy of `environments/`, so a developer's `make local` and files are untouched.

1. pull request #1 (first deploy of `local`): synth, policy gate, plan, comment;
2. merge: deploy plans again, finds the reviewed fingerprint through the API and applies;
3. pull request #2 reviewed with one change, then a second change lands before the merge:
   the deploy refuses (the plan differs from the reviewed one) and opens a failure issue;
4. the re-run the refusal asks for: the PR's plan and comment again (still one comment, updated
   in place with the new plan); then a plan comment forged by another workflow (the same bot,
   the current fingerprints, its own run named in the header), which the deploy refuses after
   asking GitHub about that run, and a maintainer deletes; then the deploy again, which applies
   and closes the issue;
5. promote: a new image digest in `dev` moves to `staging` through a pull request;
6. releases (`gitops.pipeline.rehearse_release`): a good one rolled out blue/green with an
   empty re-plan after it, a bad one stopped by an alarm and rolled back, a good one that
   closes the failure issue.

The emulator enforces IAM (gitops.emulator.iam_enforcement): bootstrap runs as the
administrator and creates the pipeline roles; every plan runs as `fraud-gitops-plan-local` and
every deploy as `fraud-gitops-apply-local`, as the workflows' OIDC steps would have them.
Each step prints its time; any unexpected outcome stops the rehearsal with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.emulator import server as emulator
from gitops.emulator.iam_enforcement import ENFORCE_VARIABLE, ROLE_VARIABLE
from gitops.emulator.local import remote_state
from gitops.github.client import GitHubClient
from gitops.github.standin import GitHubStandIn
from gitops.paths import WORK_DIR_VARIABLE, write_atomically
from gitops.pipeline import rehearse_release
from gitops.pipeline.deploy_gate import PR_WORKFLOW
from gitops.pipeline.plan_comment import MARKER, parse_header
from gitops.stacks import declared_resources
from infra.environments import (
    DEFAULT_ENVIRONMENTS_DIR,
    ENVIRONMENTS_DIR_VARIABLE,
    load_environment,
)

ENVIRONMENT = "local"
STACK = f"fraud-detection-{ENVIRONMENT}"
REVIEWED_CHANGE = ("  log_level: DEBUG", "  log_level: INFO")
"""The change pull request #2 is reviewed with: the release's log level (a new task definition)."""
LATE_CHANGE = ("  max_tasks: 10", "  max_tasks: 12")
"""The change pushed after the review, before the merge: the autoscaling ceiling."""
NEW_DIGEST = "sha256:" + "5e" * 32
PLAN_ROLE = f"fraud-gitops-plan-{ENVIRONMENT}"
APPLY_ROLE = f"fraud-gitops-apply-{ENVIRONMENT}"
FAILURE_TITLE = f"Deploy of {ENVIRONMENT} failed"
FORGING_WORKFLOW = ".github/workflows/forge.yml"
"""A workflow someone added on a branch: its runs write as the same bot as `pr.yml`'s."""


class RehearsalFailed(Exception):
    """A step did not do what the workflows rely on; the message says which and why."""


@dataclass
class Rehearsal:
    scratch: Path
    github: GitHubStandIn
    started: float
    plan_role: str = PLAN_ROLE
    apply_role: str = APPLY_ROLE

    @property
    def environments(self) -> Path:
        return self.scratch / "environments"

    @property
    def outdir(self) -> Path:
        return self.scratch / "cdktf.out"

    @property
    def stack_dir(self) -> Path:
        return self.outdir / "stacks" / STACK

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            WORK_DIR_VARIABLE: str(self.scratch / "work"),
            ENVIRONMENTS_DIR_VARIABLE: str(self.environments),
            "GITHUB_API_URL": self.github.url,
            "GITHUB_REPOSITORY": self.github.repository,
            "GITHUB_TOKEN": self.github.token,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "1",
            "GITHUB_STEP_SUMMARY": str(self.scratch / "step-summary.md"),
            "GITHUB_REF_NAME": "main",
            # What a dispatched workflow checks out: main's head (release and promote branch
            # from it; the scratch environment files are main's).
            "GITHUB_SHA": self.github.branch_sha("main") or "",
        }

    def gitops(
        self,
        *args: str,
        expect_failure: bool = False,
        role: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """One `gitops` command as a workflow step runs it (with `role`'s credentials and the
        variables `env` adds)."""
        command = [sys.executable, "-m", "gitops.cli", *args]
        environment = self.environ() | ({ROLE_VARIABLE: role} if role else {}) | (env or {})
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if (result.returncode != 0) != expect_failure:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            expected = "to fail" if expect_failure else "to succeed"
            raise RehearsalFailed(
                f"`gitops {' '.join(args)}` was expected {expected} (exit {result.returncode}):\n"
                + "\n".join(tail)
            )
        return result

    def step(self, label: str, action: Callable[[], str]) -> None:
        step_started = time.perf_counter()
        outcome = action()
        took = time.perf_counter() - step_started
        total = time.perf_counter() - self.started
        print(f"[{total:6.1f}s] {label} ({took:.1f}s): {outcome}", flush=True)

    def edit(self, name: str, old: str, new: str, branch: str) -> str:
        """Change one line of an environment file: in the checkout the commands read, and as a
        commit on `branch` of the GitHub stand-in."""
        path = self.environments / f"{name}.yaml"
        text = path.read_text()
        if old not in text:
            raise RehearsalFailed(f"{path}: expected a line {old.strip()!r} to change")
        write_atomically(path, text.replace(old, new, 1))
        self.github.add_file(f"environments/{name}.yaml", path.read_text(), branch=branch)
        return f"{old.strip()} -> {new.strip()} (on {branch})"

    def plan_comment_on(self, number: int, *expected: str) -> str:
        """The PR workflow's plan and comment jobs, for the environment in the scratch copy;
        the posted comment must contain each of `expected`."""
        self.gitops("plan-reviewers", ENVIRONMENT)  # before the plan job's credentials
        planned = self.gitops("plan", ENVIRONMENT, "--outdir", str(self.outdir), role=PLAN_ROLE)
        (pull,) = [p for p in self.github.pull_requests() if p["number"] == number]
        head = pull["head"]["sha"]
        # The comment job runs in the pull request's `pr.yml` run, which then succeeds.
        run_id = self.github.add_workflow_run(PR_WORKFLOW, head, head_branch=pull["head"]["ref"])
        self.gitops(
            "comment",
            f"{ENVIRONMENT}={self.stack_dir / 'plan-summary.json'}",
            "--commit",
            head,
            "--policy-summary-file",
            str(self.scratch / "reports" / "policy-summary.txt"),
            "--post",
            str(number),
            env={"GITHUB_RUN_ID": str(run_id)},
        )
        self.github.finish_workflow_run(run_id, "success")
        outcome = planned.stdout.splitlines()[0] + "; " + self._comment_count(number)
        body = self._comment_body(number)
        missing = [text for text in expected if text not in body]
        if missing:
            raise RehearsalFailed(f"the comment on PR #{number} does not show {missing}")
        return outcome

    def failure_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.github.issues("open") if i["title"] == FAILURE_TITLE]

    def _comment_body(self, number: int) -> str:
        ours = [c for c in self.github.comments(number) if f"<!-- {MARKER} " in c["body"]]
        if len(ours) != 1:
            raise RehearsalFailed(f"PR #{number} has {len(ours)} plan comments, expected one")
        body: str = ours[0]["body"]
        return body

    def _comment_count(self, number: int) -> str:
        return f"PR #{number} has 1 plan comment ({len(self._comment_body(number)):,} characters)"

    def state_serial(self) -> int:
        """The serial of the environment's remote state: it grows with every apply."""
        state = remote_state(emulator.attach(load_environment(ENVIRONMENT, self.environments)))
        if state is None:
            raise RehearsalFailed(f"{ENVIRONMENT} has no remote state")
        return int(state["serial"])

    def deploy(
        self, sha: str, *, refused: bool = False, because: str = "differs from the one reviewed"
    ) -> str:
        """`gitops deploy`; `refused`: it must refuse, saying `because`, leave the state as it
        was and have one failure issue open."""
        serial = self.state_serial() if refused else None
        already_open = {issue["number"] for issue in self.failure_issues()}
        result = self.gitops(
            "deploy", ENVIRONMENT, "--commit", sha, "--outdir", str(self.outdir),
            expect_failure=refused, role=APPLY_ROLE,
        )  # fmt: skip
        output = result.stdout + result.stderr
        if refused:
            if because not in output:
                raise RehearsalFailed(f"deploy refused for another reason: {output.strip()}")
            if self.state_serial() != serial:
                raise RehearsalFailed("the refused deploy changed the state")
            issues = self.failure_issues()
            if len(issues) != 1:
                raise RehearsalFailed(f"expected one open failure issue, found {len(issues)}")
            number = issues[0]["number"]
            action = "updated" if number in already_open else "opened"
            return f"refused, state unchanged (serial {serial}); issue #{number} {action}"
        if "matches the plan reviewed" not in output or "applied" not in output:
            raise RehearsalFailed(f"deploy did not apply the reviewed plan: {output.strip()}")
        return f"merge {sha[:12]}: fingerprint matched, plan file applied"


def forged_plan_comment(genuine: str, run_id: int) -> str:
    """The genuine plan comment with another run named in its hidden header: what a workflow
    added on any branch can post, as the same bot, to pass for the reviewed plan."""
    header = {**(parse_header(genuine) or {}), "run_id": run_id}
    text = json.dumps(header, sort_keys=True, separators=(",", ":"))
    _, _, rest = genuine.partition("\n")  # the header is the first line
    return f"<!-- {MARKER} {text} -->\n{rest}"


def forged_refusal(run_id: int) -> str:
    """What the deploy says of the forged comment's run."""
    return f"run {run_id} is a run of `{FORGING_WORKFLOW}`, not of `{PR_WORKFLOW}`"


def _seed_repository(rehearsal: Rehearsal) -> None:
    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, rehearsal.environments)
    for path in sorted(rehearsal.environments.glob("*.yaml")):
        rehearsal.github.add_file(f"environments/{path.name}", path.read_text())


def _run(rehearsal: Rehearsal, example: Path | None) -> None:
    r = rehearsal

    def start_emulator() -> str:
        os.environ[WORK_DIR_VARIABLE] = str(r.scratch / "work")
        os.environ[ENFORCE_VARIABLE] = "1"
        state = emulator.start()
        r.gitops(
            "bootstrap", ENVIRONMENT, "--github-repository", r.github.repository,
            "--outdir", str(r.outdir),
        )  # fmt: skip
        return (
            f"{state.endpoint} (IAM enforced), state backend, boundary and pipeline roles"
            " bootstrapped"
        )

    def pr_open_and_check() -> str:
        r.github.open_pull_request("First deploy of the local stack", head="first-deploy")
        r.gitops("synth", ENVIRONMENT, "--outdir", str(r.outdir))
        result = r.gitops(
            "check", "--stack-dir", str(r.stack_dir), "--report-dir", str(r.scratch / "reports")
        )
        return result.stdout.strip().splitlines()[0]

    def late_change() -> str:
        return r.edit(ENVIRONMENT, *LATE_CHANGE, branch="log-level") + ", after the review"

    def reviewed_change() -> str:
        r.github.open_pull_request("Log at INFO in local", head="log-level")
        return r.edit(ENVIRONMENT, *REVIEWED_CHANGE, branch="log-level")

    merges: dict[int, str] = {}

    def merge_and_deploy(number: int, refused: bool = False) -> str:
        merges[number] = r.github.merge_pull_request(number)
        return r.deploy(merges[number], refused=refused)

    def redeploy() -> str:
        outcome = r.deploy(merges[2])
        if r.failure_issues():
            raise RehearsalFailed("the failure issue is still open after a successful deploy")
        return outcome + "; failure issue closed"

    def forged_comment() -> str:
        """Any workflow of the repository, on any branch, comments as the same bot: one posts
        the reviewed plan's header (so its fingerprint matches) naming its own run. The deploy
        asks GitHub about that run and refuses; a maintainer then deletes the comment."""
        (pull,) = [p for p in r.github.pull_requests() if p["number"] == 2]
        run_id = r.github.add_workflow_run(
            FORGING_WORKFLOW, pull["head"]["sha"], conclusion="success"
        )
        bot = GitHubClient(r.github.url, r.github.repository, r.github.token)
        forged = forged_plan_comment(r._comment_body(2), run_id)
        posted = bot.call("POST", "/issues/2/comments", {"body": forged})
        outcome = r.deploy(merges[2], refused=True, because=forged_refusal(run_id))
        r.github.delete_comment(posted["id"])
        return f"{FORGING_WORKFLOW} run {run_id}: {outcome}; forged comment deleted"

    def promote() -> str:
        digest_line = next(
            line
            for line in (r.environments / "dev.yaml").read_text().splitlines()
            if "image_digest:" in line
        )
        r.edit("dev", digest_line, f'  image_digest: "{NEW_DIGEST}"', branch="main")
        result = r.gitops("promote", "--from", "dev", "--to", "staging", "--open-pr")
        pulls = [p for p in r.github.pull_requests() if p["head"]["ref"].startswith("promote/")]
        if len(pulls) != 1 or NEW_DIGEST not in pulls[0]["body"]:
            raise RehearsalFailed(f"expected one promote pull request naming {NEW_DIGEST}")
        branch_file = r.github.file_text("environments/staging.yaml", pulls[0]["head"]["ref"])
        if branch_file is None or NEW_DIGEST not in branch_file:
            raise RehearsalFailed("the promote branch does not carry the new digest")
        return result.stdout.strip().splitlines()[-1]

    r.step("emulator and state backend", start_emulator)
    r.step("PR #1: synth and policy gate", pr_open_and_check)

    def first_deploy_row() -> str:
        """Every resource the synthesized stack declares is to be created, nothing else."""
        count = declared_resources(r.stack_dir)
        return f"| `{ENVIRONMENT}` | 0 | {count} | 0 | 0 | 0 | 0 |"

    r.step("PR #1: plan and comment",
           lambda: r.plan_comment_on(1, first_deploy_row(), "+ aws_rds_cluster."))  # fmt: skip
    r.step("merge #1: deploy", lambda: merge_and_deploy(1))
    r.step("PR #2: change reviewed", reviewed_change)
    log_level = ("**replace** `aws_ecs_task_definition.", '\\"LOG_LEVEL\\",\\"value\\":\\"INFO')
    r.step("PR #2: plan and comment", lambda: r.plan_comment_on(2, *log_level))
    if example is not None:
        write_atomically(example, r._comment_body(2))
    r.step("PR #2: another change", late_change)
    r.step("merge #2: deploy", lambda: merge_and_deploy(2, refused=True))
    ceiling = ("max_capacity: 10 -> 12", *log_level)
    r.step("PR #2: plan and comment again (the re-run)", lambda: r.plan_comment_on(2, *ceiling))
    r.step("PR #2: a plan comment forged by another workflow", forged_comment)
    r.step("merge #2: deploy again", redeploy)
    r.step("promote dev -> staging", promote)
    rehearse_release.run(r, ENVIRONMENT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.pipeline.rehearse", description=__doc__)
    parser.add_argument(
        "--write-example",
        type=Path,
        help="also save the plan comment of pull request #2 here (the README's example)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="gitops-rehearsal-"))
    print(f"rehearsal in {scratch}", flush=True)
    failed = True
    try:
        with GitHubStandIn() as github:
            rehearsal = Rehearsal(scratch, github, started)
            _seed_repository(rehearsal)
            _run(rehearsal, args.write_example)
            print(f"{len(github.requests)} GitHub API calls answered by the stand-in")
        failed = False
    except (RehearsalFailed, rehearse_release.ReleaseRehearsalFailed) as error:
        print(f"rehearsal failed: {error}", file=sys.stderr)
        return 1
    finally:
        if failed:  # CI keeps only the job log: put the emulator's side of the failure there
            print(emulator.server_errors(), file=sys.stderr)
        emulator.stop()
        os.environ.pop(ENFORCE_VARIABLE, None)
        if failed:
            print(f"kept {scratch} (emulator log, Terraform output, stand-in repository)")
        elif not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"rehearsal passed in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
