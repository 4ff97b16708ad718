"""The release part of `make rehearse`: new images through pull requests and CodeDeploy.

Runs after the rehearsal's first deploys, on the same deployment (a second one would double the
rehearsal's time):

1. a good release: `gitops release --open-pr`, its plan comment with the release callout, the
   merge, the deploy with a blue/green rollout (traffic moves to the standby target group),
   then a drift run, which must plan no changes: Terraform does not fight CodeDeploy;
2. a bad release: one of the deployment group's rollback alarms is set to ALARM, so the rollout
   stops and rolls back, the job fails, the failure issue opens and traffic stays put;
3. the alarm clears and a good release rolls out and closes the issue.

Kept apart from `rehearse.py` so that each path reads on its own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gitops.bootstrap.state_backend import clients
from gitops.emulator import server as emulator
from infra.environments import load_environment
from infra.naming import Naming

if TYPE_CHECKING:
    from gitops.pipeline.rehearse import Rehearsal

GOOD = ("1.5.0", "sha256:" + "a1" * 32)
BAD = ("1.5.1", "sha256:" + "b2" * 32)
FIX = ("1.5.2", "sha256:" + "c3" * 32)
STOPPED = re.compile(r"deployment \S+ stopped\b")
ELAPSED = re.compile(r"^\[\s*([0-9.]+)s\] \S+: status Succeeded$", re.M)


class ReleaseRehearsalFailed(Exception):
    """A release step did not do what the workflows rely on; the message says which and why."""


class ReleaseSteps:
    """The release steps on a running rehearsal: its scratch folder, emulator and stand-in."""

    def __init__(self, rehearsal: Rehearsal, environment: str) -> None:
        self.r = rehearsal
        self.environment = environment
        self.name = Naming(environment).name("api")

    def aws(self, service: str) -> Any:
        config = emulator.attach(load_environment(self.environment, self.r.environments))
        return clients(config)(service)

    def traffic(self) -> str:
        """The target group the production listener sends all traffic to."""
        group = self.aws("codedeploy").get_deployment_group(
            applicationName=self.name, deploymentGroupName=self.name
        )["deploymentGroupInfo"]
        pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        (listener,) = self.aws("elbv2").describe_listeners(
            ListenerArns=pair["prodTrafficRoute"]["listenerArns"][:1]
        )["Listeners"]
        (action,) = listener["DefaultActions"]
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
        ]
        live: list[str] = [
            g["TargetGroupArn"].split("/")[-2] for g in groups if g.get("Weight", 1) > 0
        ]
        if len(live) != 1:
            raise ReleaseRehearsalFailed(f"production traffic is split over {live}")
        return live[0]

    def origin_protection(self) -> str:
        """The load balancer's web ACL after a rollout or a rollback: still blocking by default,
        still letting through only requests carrying the origin header (both move listeners,
        and the ACL is on the load balancer, so it must be untouched)."""
        group = self.aws("codedeploy").get_deployment_group(
            applicationName=self.name, deploymentGroupName=self.name
        )["deploymentGroupInfo"]
        listener = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]["prodTrafficRoute"]
        (described,) = self.aws("elbv2").describe_listeners(
            ListenerArns=listener["listenerArns"][:1]
        )["Listeners"]
        acl = (
            self.aws("wafv2")
            .get_web_acl_for_resource(ResourceArn=described["LoadBalancerArn"])
            .get("WebACL")
        )
        from infra.origin_verification import HEADER_NAME  # cdktf's jsii: only when it runs

        headers = {
            str(statement.get("FieldToMatch", {}).get("SingleHeader", {}).get("Name", "")).lower()
            for statement in _statements(acl.get("Rules", []) if acl else [])
        }
        if not acl or "Block" not in acl["DefaultAction"] or HEADER_NAME not in headers:
            raise ReleaseRehearsalFailed(
                "after the rollout or rollback the load balancer's web ACL no longer demands"
                f" {HEADER_NAME}: {acl and acl['Name']}"
            )
        return f"web ACL {acl['Name']} still blocks requests without {HEADER_NAME}"

    def rollback_alarm(self) -> str:
        """One of the deployment group's rollback alarms: the target 5xx one when it is there."""
        group = self.aws("codedeploy").get_deployment_group(
            applicationName=self.name, deploymentGroupName=self.name
        )["deploymentGroupInfo"]
        names: list[str] = [a["name"] for a in group["alarmConfiguration"]["alarms"]]
        return next((n for n in names if "5xx" in n), names[0])

    def set_alarm(self, alarm: str, state: str) -> str:
        self.aws("cloudwatch").set_alarm_state(
            AlarmName=alarm, StateValue=state, StateReason="rehearsal"
        )
        return f"{alarm} set to {state}"

    def open_release(self, version: str, digest: str) -> int:
        """`release.yml`'s command: write the release and open its pull request."""
        self.r.gitops(
            "release", self.environment, "--image-digest", digest, "--app-version", version,
            "--open-pr",
        )  # fmt: skip
        pulls = [p for p in self.r.github.pull_requests() if digest[7:19] in p["head"]["ref"]]
        if len(pulls) != 1 or digest not in pulls[0]["body"]:
            raise ReleaseRehearsalFailed(f"expected one release pull request naming {digest}")
        branch = pulls[0]["head"]["ref"]
        text = self.r.github.file_text(f"environments/{self.environment}.yaml", branch)
        if text is None or digest not in text:
            raise ReleaseRehearsalFailed(f"the branch {branch} does not carry {digest}")
        return int(pulls[0]["number"])

    def deploy(self, number: int, *, rolled_back: bool = False) -> str:
        """The deploy job after the merge: its own synth, as the apply role."""
        sha = self.r.github.merge_pull_request(number)
        before = self.traffic()
        result = self.r.gitops(
            "deploy", self.environment, "--commit", sha, "--outdir", str(self.r.outdir),
            expect_failure=rolled_back, role=self.r.apply_role,
        )  # fmt: skip
        output = result.stdout + result.stderr
        after = self.traffic()
        if "matches the plan reviewed" not in output or "applied" not in output:
            raise ReleaseRehearsalFailed(f"the deploy of #{number} did not apply: {output[-800:]}")
        if rolled_back:
            return self._rolled_back(output, before, after)
        took = ELAPSED.search(output)
        if took is None or after == before:
            raise ReleaseRehearsalFailed(f"no successful rollout (traffic on {after}): {output}")
        return (
            f"merge {sha[:12]}: applied; rolled out in {took[1]}s, traffic {before} -> {after};"
            f" {self.origin_protection()}"
        )

    def _rolled_back(self, output: str, before: str, after: str) -> str:
        alarm = self.rollback_alarm()
        line = next((ln for ln in output.splitlines() if STOPPED.search(ln)), "")
        if alarm not in line or "traffic is back on" not in line:
            raise ReleaseRehearsalFailed(f"expected a stop on {alarm} and a rollback: {output}")
        if after != before:
            raise ReleaseRehearsalFailed(f"traffic moved {before} -> {after} despite the alarm")
        issues = self.r.failure_issues()
        if len(issues) != 1 or alarm not in issues[0]["body"]:
            raise ReleaseRehearsalFailed(f"expected one failure issue naming {alarm}")
        return (
            f"job failed, rolled back, traffic still on {after};"
            f" issue #{issues[0]['number']} opened; {self.origin_protection()}"
        )

    def drift(self) -> str:
        """The drift workflow right after a rollout: no changes, so Terraform leaves CodeDeploy's
        task definition, load balancer and listener actions alone."""
        result = self.r.gitops(
            "drift", self.environment, "--no-synth", "--outdir", str(self.r.outdir),
            role=self.r.plan_role,
        )  # fmt: skip
        line = result.stdout.strip().splitlines()[-1]
        if line != f"{self.environment}: no drift":
            raise ReleaseRehearsalFailed(f"the re-plan after the rollout is not empty: {line}")
        return f"{line}: the re-plan after the rollout is empty"


def _statements(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every byte-match statement of the rules, however deeply nested in and/or/not."""
    found: list[dict[str, Any]] = []
    pending: list[Any] = [rule.get("Statement", {}) for rule in rules]
    while pending:
        statement = pending.pop()
        if isinstance(statement, dict):
            if "ByteMatchStatement" in statement:
                found.append(statement["ByteMatchStatement"])
            pending.extend(statement.values())
        elif isinstance(statement, list):
            pending.extend(statement)
    return found


def _release(steps: ReleaseSteps, old: str, version: str, digest: str, bad: bool) -> None:
    """One release as its own steps: pull request, plan comment, merge and deploy."""
    r, pulls = steps.r, []

    def release() -> str:
        pulls.append(steps.open_release(version, digest))
        return f"pull request #{pulls[0]} opened for {version} ({digest[:19]}...)"

    def deploy() -> str:
        outcome = steps.deploy(pulls[0], rolled_back=bad)
        if old == BAD[0]:
            if r.failure_issues():
                raise ReleaseRehearsalFailed("the failure issue is still open after a good release")
            outcome += "; failure issue closed"
        return outcome

    callout = (f"release {old} -> {version}", "rolls out blue/green through CodeDeploy")
    r.step(f"release {version}: gitops release --open-pr", release)
    r.step(f"release {version}: plan and comment", lambda: r.plan_comment_on(pulls[0], *callout))
    if bad:
        alarm = steps.rollback_alarm()
        r.step("a rollback alarm fires", lambda: steps.set_alarm(alarm, "ALARM"))
    r.step(f"release {version}: merge, deploy, blue/green", deploy)


def run(rehearsal: Rehearsal, environment: str) -> None:
    """Good release, bad release rolled back, good release closing the issue."""
    steps = ReleaseSteps(rehearsal, environment)
    _release(steps, "1.4.0", *GOOD, bad=False)
    rehearsal.step("drift run after the rollout", steps.drift)
    _release(steps, GOOD[0], *BAD, bad=True)
    alarm = steps.rollback_alarm()
    rehearsal.step("the alarm clears", lambda: steps.set_alarm(alarm, "OK"))
    _release(steps, BAD[0], *FIX, bad=False)
