"""Only API Gateway (and listed operator networks) reach the target groups, in every environment.

The listener, security group and the load balancer's web ACL are evaluated as data
(tests/synth/waf_evaluation.py): a request from the internet without the origin header reaches
no target group; one carrying the value API Gateway's integration sends reaches the active one.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.environments import environment_names, load_environment
from tests.helpers import find, ref, resources
from tests.synth.waf_evaluation import Request, reachable_target_groups, web_acl_of

ENVIRONMENTS = environment_names()

PER_ENV = pytest.mark.parametrize("env", ENVIRONMENTS)
INTERNET = "198.51.100.7"
OPERATOR_NETWORK = "203.0.113.0/24"
OPERATOR = "203.0.113.9"


def sent_by_api_gateway(stack: dict[str, Any]) -> str:
    """The header value every integration adds (a static value, quoted), the same for all."""
    from infra.origin_verification import HEADER_NAME  # loads cdktf's jsii

    values = {
        integration["request_parameters"][f"integration.request.header.{HEADER_NAME}"]
        for integration in resources(stack, "aws_api_gateway_integration").values()
    }
    assert len(values) == 1, values
    (value,) = values
    assert value.startswith("'") and value.endswith("'"), value
    return value[1:-1]


def origin_local(stack: dict[str, Any], name: str) -> tuple[str, str]:
    """(name, expression) of the origin-verification construct's local `name`."""
    (found,) = [
        (key, expression)
        for key, expression in stack["locals"].items()
        if key.startswith(f"origin-verification_{name}_")
    ]
    return found


def local_ref(stack: dict[str, Any], name: str) -> str:
    return f"${{local.{origin_local(stack, name)[0]}}}"


CURRENT = re.compile(
    r"^\$\{local\.(\S+) % 3 == 0 \? local\.(\S+) : "
    r"\(local\.(\S+) % 3 == 1 \? local\.(\S+) : local\.(\S+)\)\}$"
)


def sent_in_period(stack: dict[str, Any], n: int) -> str:
    """What API Gateway sends in period n: the branch of the current-value local n selects."""
    match = CURRENT.match(origin_local(stack, "current-value")[1])
    assert match is not None
    period, when_0, period_again, when_1, when_2 = match.groups()
    assert period == period_again
    assert f"${{local.{period}}}" == local_ref(stack, "rotation-period")
    return f"${{local.{(when_0, when_1, when_2)[n % 3]}}}"


def accepted_by_the_acl(stack: dict[str, Any]) -> list[str]:
    acl = web_acl_of(stack)
    assert acl is not None
    statement = acl["rule"][0]["statement"]
    return [
        s["byte_match_statement"]["search_string"] for s in statement["or_statement"]["statement"]
    ]


@PER_ENV
def test_a_request_without_the_header_reaches_no_target_group(stacks, env) -> None:
    from infra.origin_verification import HEADER_NAME  # loads cdktf's jsii

    stack = stacks[env]
    assert reachable_target_groups(stack, Request(INTERNET)) == []
    assert reachable_target_groups(stack, Request(OPERATOR)) == [], "no operator network listed"
    wrong = Request(INTERNET, {HEADER_NAME: "guess"})
    assert reachable_target_groups(stack, wrong) == []
    for n in (0, 1):
        elsewhere = Request(INTERNET, {"x-api-key": sent_in_period(stack, n)})
        assert reachable_target_groups(stack, elsewhere) == [], "the value under another header"


@PER_ENV
def test_all_values_are_accepted_and_api_gateway_sends_one_of_them(stacks, env) -> None:
    from infra.origin_verification import HEADER_NAME  # loads cdktf's jsii

    stack = stacks[env]
    assert sent_by_api_gateway(stack) == local_ref(stack, "current-value")
    accepted = [local_ref(stack, f"value-{slot}-sensitive") for slot in ("a", "b", "c")]
    assert accepted_by_the_acl(stack) == accepted
    # n mod 3 = 0: C (replaced in the period before), 1: A, 2: B
    assert [sent_in_period(stack, n) for n in (0, 1, 2)] == [accepted[2], *accepted[:2]]
    for n in (0, 1, 2):
        sent = sent_in_period(stack, n)
        for name in (HEADER_NAME, HEADER_NAME.upper()):  # header names are case-insensitive
            reached = reachable_target_groups(stack, Request(INTERNET, {name: sent}))
            assert reached == [f"fraud-tg-blue-{env}"]


@PER_ENV
def test_the_web_acl_changes_before_api_gateway_sends_a_new_value(stacks, env) -> None:
    stack = stacks[env]
    acl = ref(stack, "aws_wafv2_web_acl", "alb-waf/acl", "arn").removesuffix(".arn}")[2:]
    for integration in resources(stack, "aws_api_gateway_integration").values():
        assert acl in integration["depends_on"]
    _, deployment = find(stack, "aws_api_gateway_deployment", "api/deployment")
    assert deployment["triggers"]["origin"] == "${sha256(" + sent_by_api_gateway(stack)[2:-1] + ")}"


@PER_ENV
def test_terraform_generates_the_values_and_marks_them_sensitive(stacks, env) -> None:
    stack = stacks[env]
    period = local_ref(stack, "rotation-period")[2:-1]
    expected_generation = {
        "a": f"${{floor({period} / 3)}}",
        "b": f"${{floor(({period} + 2) / 3)}}",
        "c": f"${{floor(({period} + 1) / 3)}}",
    }
    for slot in ("a", "b", "c"):
        generation, marker = find(stack, "terraform_data", f"origin-verification/generation-{slot}")
        assert marker["input"] == expected_generation[slot]
        value, body = find(stack, "terraform_data", f"origin-verification/value-{slot}")
        assert body["input"] == (
            '${sensitive(join("", [replace(uuid(), "-", ""), replace(uuid(), "-", "")]))}'
        )
        assert body["lifecycle"] == {
            "ignore_changes": ["input"],
            "replace_triggered_by": [f"terraform_data.{generation}"],
        }
        assert origin_local(stack, f"value-{slot}-sensitive")[1] == (
            f"${{sensitive(terraform_data.{value}.output)}}"
        )


@PER_ENV
def test_the_values_live_only_where_they_are_used(stacks, env) -> None:
    """No data source, ephemeral resource or Secrets Manager copy: planning reads no secret."""
    stack = stacks[env]
    secret_types = {t for kind in ("data", "resource") for t in stack.get(kind, {})
                    if t.startswith("aws_secretsmanager")}  # fmt: skip
    assert secret_types == {"aws_secretsmanager_secret_rotation"}  # the database's, by RDS
    assert "ephemeral" not in stack
    outputs = json.dumps(stack["output"])
    assert "origin-verification" not in outputs and "terraform_data" not in outputs
    days = load_environment(env).load_balancer.origin_secret_rotation_days
    period = origin_local(stack, "rotation-period")[1]
    assert period.endswith(f" / {days})}}") and "plantimestamp()" in period


@PER_ENV
def test_the_load_balancers_acl_blocks_by_default(stacks, env) -> None:
    acl = web_acl_of(stacks[env])
    assert acl is not None and acl["default_action"] == {"block": {}}
    assert acl["rule"][0]["name"] == "allow-api-gateway-origin"


@pytest.fixture(scope="module")
def with_operators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """dev with one operator network, synthesized into a folder of its own."""
    from infra.app import stack_file, synthesize

    config = load_environment("dev")
    balancer = config.load_balancer.model_copy(update={"operator_cidrs": (OPERATOR_NETWORK,)})
    listener = config.blue_green.test_listener.model_copy(
        update={"allowed_cidrs": (OPERATOR_NETWORK,)}
    )
    blue_green = config.blue_green.model_copy(update={"test_listener": listener})
    outdir = tmp_path_factory.mktemp("operators")
    synthesize(
        [config.model_copy(update={"load_balancer": balancer, "blue_green": blue_green})], outdir
    )
    return json.loads(stack_file(outdir, "fraud-detection-dev").read_text())


def test_listed_operators_reach_the_service_and_nobody_else_does(with_operators) -> None:
    stack = with_operators
    (ip_set,) = resources(stack, "aws_wafv2_ip_set").values()
    assert ip_set["addresses"] == [OPERATOR_NETWORK]
    assert reachable_target_groups(stack, Request(OPERATOR)) == ["fraud-tg-blue-dev"]
    assert reachable_target_groups(stack, Request(INTERNET)) == []
    blocked_country = Request(OPERATOR, country="KP")
    assert reachable_target_groups(stack, blocked_country) == [], "geo-block still applies"


def test_the_test_listener_answers_operators_and_nobody_else(stacks, with_operators) -> None:
    from infra.origin_verification import HEADER_NAME  # loads cdktf's jsii

    port = load_environment("dev").blue_green.test_listener.port
    assert reachable_target_groups(with_operators, Request(OPERATOR, port=port))
    header = {HEADER_NAME: sent_in_period(with_operators, 0)}
    assert reachable_target_groups(with_operators, Request(INTERNET, header, port=port)) == []
    for env in ENVIRONMENTS:  # the files list no operator: the test port is closed to all
        assert reachable_target_groups(stacks[env], Request(OPERATOR, port=port)) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform on PATH")
def test_the_rotation_day_count_is_the_real_day_count_in_terraform(tmp_path: Path) -> None:
    from infra.origin_verification import days_since_epoch  # loads cdktf's jsii

    dates = [datetime.date(1970, 1, 1), datetime.date(2000, 2, 29), datetime.date(2024, 3, 1),
             datetime.date(2026, 12, 31), datetime.date(2027, 1, 1)]  # fmt: skip
    # One expression: `terraform console` reading a pipe prints only its last result.
    days = ", ".join(days_since_epoch(f'"{date}T12:00:00Z"') for date in dates)
    result = subprocess.run(["terraform", "console"], input=f"jsonencode([{days}])\n",
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=True)  # fmt: skip
    expected = [(date - datetime.date(1970, 1, 1)).days for date in dates]
    assert json.loads(json.loads(result.stdout)) == expected


def _terraform(args: list[str], cwd: Path, stdin: str | None = None) -> str:
    result = subprocess.run(["terraform", *args], cwd=cwd, input=stdin, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _origin_parts(stack: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The construct's locals and terraform_data resources: Terraform alone, no provider."""
    locals_ = {k: v for k, v in stack["locals"].items() if k.startswith("origin-verification_")}
    data = {
        name: {k: v for k, v in body.items() if k != "//"}
        for name, body in resources(stack, "terraform_data").items()
        if name.startswith("origin-verification_")
    }
    return locals_, data


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform on PATH")
def test_each_value_is_accepted_a_period_before_and_a_period_after_it_is_sent(
    stacks, tmp_path: Path
) -> None:
    """The stagger, evaluated by Terraform from the synthesized expressions over consecutive
    periods: a value is a slot (A, B or C) and its generation marker."""
    stack = stacks["dev"]
    locals_, data = _origin_parts(stack)
    period = origin_local(stack, "rotation-period")[0]
    slots = [origin_local(stack, f"value-{slot}-sensitive")[0] for slot in ("a", "b", "c")]

    def at_n(expression: str) -> str:  # one local's expression with the period as `n`
        expression = expression.removeprefix("${").removesuffix("}")
        return expression.replace(f"local.{period}", "n")

    generations = []
    for slot in slots:  # accepted value -> its terraform_data -> its generation marker
        value = locals_[slot].removeprefix("${sensitive(terraform_data.").split(".")[0]
        (trigger,) = data[value]["lifecycle"]["replace_triggered_by"]
        generations.append(at_n(data[trigger.removeprefix("terraform_data.")]["input"]))
    current = at_n(locals_[origin_local(stack, "current-value")[0]])
    for index, slot in enumerate(slots):
        current = current.replace(f"local.{slot}", str(index))
    first = 20_000  # about the period a 30-day rotation is in today; 12 consecutive ones
    row = f"[{', '.join(generations)}, {current}]"
    rows = f"jsonencode([for n in range({first}, {first + 12}) : {row}])\n"
    evaluated = json.loads(json.loads(_terraform(["console"], tmp_path, rows)))
    accepted = [set(enumerate(markers)) for *markers, _ in evaluated]
    sent = [(row[-1], row[row[-1]]) for row in evaluated]
    for n in range(len(evaluated) - 1):
        period_n = first + n + 1
        assert sent[n] in accepted[n], f"period {first + n}: sends a value the ACL refuses"
        assert sent[n] in accepted[n + 1], f"period {period_n}: refuses what was just sent"
        assert sent[n + 1] != sent[n], f"period {period_n}: sends no new value"
        assert sent[n + 1] in accepted[n], f"period {period_n}: sends a value WAF has not had"
    for value in {v for values in accepted for v in values} - accepted[0] - accepted[-1]:
        assert sum(value in values for values in accepted) == 3, "each value lives three periods"
    # The known limit: two boundaries with no apply between replace the value that was sent.
    assert all(sent[n] not in accepted[n + 2] for n in range(len(evaluated) - 2))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform on PATH")
def test_a_real_plan_keeps_the_values_sensitive_and_stable(stacks, tmp_path: Path) -> None:
    """The construct's own Terraform, applied with local state (period n as a variable), and a
    stand-in for the web ACL and the integrations: the values stay marked sensitive where they
    are used, an unchanged period plans no change, the next period replaces one value only."""
    stack = stacks["dev"]
    locals_, data = _origin_parts(stack)
    period, current = origin_local(stack, "rotation-period")[0], local_ref(stack, "current-value")
    accepted = [local_ref(stack, f"value-{slot}-sensitive") for slot in ("a", "b", "c")]
    config = {
        "variable": {"n": {"type": "number"}},
        "locals": {**locals_, period: "${var.n}"},
        "resource": {"terraform_data": {
            **data, "uses": {"input": {"sent": current, "accepted": accepted}},
        }},
        "output": {"sent": {"value": current, "sensitive": True}},
    }  # fmt: skip
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    _terraform(["init", "-input=false", "-no-color"], tmp_path)

    def plan(n: int) -> dict[str, Any]:
        _terraform(["plan", "-input=false", "-no-color", f"-var=n={n}", "-out=plan"], tmp_path)
        return json.loads(_terraform(["show", "-json", "plan"], tmp_path))

    def changes(planned: dict[str, Any]) -> dict[str, list[str]]:
        names = {
            c["address"]: c["address"].split(".")[1].split("_")[-2:][0]
            for c in planned["resource_changes"]
        }  # `origin-verification_value-b_<hash>` -> value-b
        return {names[c["address"]]: c["change"]["actions"] for c in planned["resource_changes"]
                if c["change"]["actions"] != ["no-op"]}  # fmt: skip

    def apply(n: int) -> dict[str, Any]:
        _terraform(["apply", "-input=false", "-no-color", f"-var=n={n}", "-auto-approve"], tmp_path)
        return json.loads((tmp_path / "terraform.tfstate").read_text())

    def values(state: dict[str, Any]) -> tuple[str, list[str]]:
        (uses,) = [r for r in state["resources"] if r["name"] == "uses"]
        used = uses["instances"][0]["attributes"]["input"]["value"]  # dynamic: value and type
        return used["sent"], used["accepted"]

    state = apply(20_000)
    (uses,) = [r for r in state["resources"] if r["name"] == "uses"]
    marked = {
        tuple(step["value"]["value"] if step["type"] == "index" else step["value"] for step in path)
        for path in uses["instances"][0]["sensitive_attributes"]
    }
    assert marked == {("input", "sent"), *(("input", "accepted", i) for i in range(3))}
    sent, all_three = values(state)
    assert 20_000 % 3 == 2, "period 20,000 sends B"
    assert len(sent) == 64 and int(sent, 16) >= 0 and sent == all_three[1]
    assert len(set(all_three)) == 3

    assert changes(plan(20_000)) == {}, "an unchanged period plans nothing"
    turned = plan(20_001)
    assert changes(turned) == {"generation-a": ["update"], "value-a": ["delete", "create"],
                               "uses": ["update"]}  # fmt: skip
    (uses_change,) = [c for c in turned["resource_changes"] if c["address"].endswith(".uses")]
    # Plan JSON holds known sensitive values in the clear, marked; the new one is unknown.
    assert uses_change["change"]["after_sensitive"]["input"] == {
        "sent": True, "accepted": [True, True, True]}  # fmt: skip
    # A is replaced (unknown until apply); C, added a period ago, is what is sent now: known.
    assert uses_change["change"]["after_unknown"]["input"] == {
        "accepted": [True, False, False]}  # fmt: skip
    next_sent, next_all = values(apply(20_001))
    assert next_sent == all_three[2] == next_all[2], "the value the ACL had a period already"
    assert next_all[0] not in all_three, "a new value, accepted now, sent next period"
    assert sent in next_all, "what was sent in the last period is still accepted"
