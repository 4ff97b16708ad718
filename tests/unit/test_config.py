"""The environment schema: the shipped files load, and each kind of mistake gets one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError
from infra.environments import (
    environment_file,
    environment_names,
    load_environment,
    load_environments,
    parse_yaml,
)

ENVIRONMENTS = environment_names()


def write_variant(tmp_path: Path, name: str, change) -> Path:
    """Copy a shipped environment file into tmp_path with `change(data)` applied."""
    data: dict[str, Any] = yaml.safe_load(environment_file(name).read_text())
    change(data)
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def load_error(tmp_path: Path, name: str, change) -> str:
    directory = write_variant(tmp_path, name, change)
    with pytest.raises(ConfigError) as caught:
        load_environment(name, directory)
    message = str(caught.value)
    assert "\n" not in message, "errors must be one line"
    assert message.startswith(str(directory / f"{name}.yaml")), "errors must name the file"
    return message


def test_every_shipped_environment_loads() -> None:
    configs = load_environments()
    assert sorted(config.name for config in configs) == sorted(ENVIRONMENTS)
    assert [config.name for config in configs] == ["dev", "staging", "prod", "local"], (
        "deployed environments by wave, then the others"
    )
    assert {config.stack_name for config in configs} == {
        f"fraud-detection-{name}" for name in ENVIRONMENTS
    }


def test_brief_numbers_come_from_the_files() -> None:
    dev = load_environment("dev")
    assert (dev.service.min_tasks, dev.service.max_tasks) == (2, 10)
    assert dev.service.cpu_target_percent == 70
    assert (dev.database.min_capacity_acu, dev.database.max_capacity_acu) == (0.5, 4.0)
    assert (dev.api.rate_limit_rps, dev.api.burst_limit, dev.api.daily_quota) == (
        1000,
        2000,
        100_000,
    )
    assert (dev.alarms.api_latency_ms, dev.alarms.min_healthy_tasks) == (200, 1)
    assert dev.alarms.max_db_connections == 80
    assert dev.logs.retention_days == 30
    assert dev.network.flow_log_expiry_days == 90
    assert dev.network.az_count == 3


def test_prod_differs_where_real_teams_differ() -> None:
    dev, prod = load_environment("dev"), load_environment("prod")
    assert not dev.network.nat_gateway_per_az and prod.network.nat_gateway_per_az
    assert not dev.database.deletion_protection and prod.database.deletion_protection
    assert not dev.load_balancer.deletion_protection and prod.load_balancer.deletion_protection
    assert prod.database.backup_retention_days > dev.database.backup_retention_days


def test_every_environment_has_its_own_state_key_and_cidr() -> None:
    configs = load_environments()
    assert len({config.state.key for config in configs}) == len(configs)
    assert len({config.network.vpc_cidr for config in configs}) == len(configs)


def test_only_environments_the_pipeline_never_deploys_point_at_an_emulator() -> None:
    for config in load_environments():
        assert (config.emulator is not None) == (not config.pipeline.deploy)
    assert [c.name for c in load_environments() if not c.pipeline.deploy] == ["local"]


def test_tags_merge_file_then_environment_and_service() -> None:
    tags = load_environment("staging").all_tags()
    assert tags["Environment"] == "staging"
    assert tags["Service"] == "fraud-detection-api"
    assert list(tags)[-2:] == ["Environment", "Service"]


def test_missing_field(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["database"].pop("max_capacity_acu"))
    assert "database.max_capacity_acu: required field is missing" in message


def test_missing_section(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.pop("waf"))
    assert "waf: required field is missing" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["service"].update(min_tasks="two"))
    assert "service.min_tasks:" in message and "'two'" in message


def test_account_id_must_be_quoted_string(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.update(account_id=111111111111))
    assert "account_id:" in message and "string" in message


def test_min_greater_than_max_tasks(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["service"].update(min_tasks=12))
    assert "service: min_tasks (12) must be <= max_tasks (10)" in message


def test_min_greater_than_max_acu(tmp_path: Path) -> None:
    message = load_error(tmp_path, "prod", lambda d: d["database"].update(min_capacity_acu=8))
    assert "min_capacity_acu (8.0) must be <= max_capacity_acu (4.0)" in message


def test_acu_must_be_half_steps(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["database"].update(max_capacity_acu=4.2))
    assert "max_capacity_acu (4.2) must be a multiple of 0.5" in message


def test_burst_below_rate(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["api"].update(burst_limit=10))
    assert "burst_limit (10) must be >= rate_limit_rps (1000)" in message


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.10.0.0/33", "not a valid IPv4 CIDR block"),
        ("10.10.0.1/16", "not a valid IPv4 CIDR block"),
        ("banana", "not a valid IPv4 CIDR block"),
        ("10.0.0.0/8", "prefix /8 is outside /16../24"),
    ],
)
def test_bad_cidr(tmp_path: Path, cidr: str, expected: str) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["network"].update(vpc_cidr=cidr))
    assert "network.vpc_cidr:" in message and expected in message


def test_the_daemon_image_must_come_from_ecr_public(tmp_path: Path) -> None:
    image = "docker.io/amazon/aws-xray-daemon:3.3.14"
    message = load_error(tmp_path, "dev", lambda d: d["service"].update(xray_daemon_image=image))
    assert f"service.xray_daemon_image: {image!r} is not on public.ecr.aws" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["service"].update(max_taks=3))
    assert "service.max_taks: unknown key" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.update(colour="blue"))
    assert "colour: unknown key" in message


def test_unknown_environment() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa': expected one of dev, "):
        load_environment("qa")


def test_missing_file_or_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no environment files \(<name>\.yaml\)"):
        load_environment("dev", tmp_path)
    with pytest.raises(ConfigError, match=r"nowhere: no such folder of environment files"):
        load_environment("dev", tmp_path / "nowhere")
    write_variant(tmp_path, "staging", lambda d: None)
    with pytest.raises(ConfigError, match=r"^unknown environment 'dev': expected one of staging$"):
        load_environment("dev", tmp_path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("region: us-east-1\nnetwork: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: line \d+: "):
        load_environment("dev", tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"region: us-east-1\nx: \xff\n", r"dev\.yaml: not UTF-8 \(byte 0xff at offset 21\)$"),
        (b"region: us-east-1\x00\n", r"dev\.yaml: position 17: unacceptable character #x0000$"),
        (b"region: us-east-1\nname: dev\nregion: eu-west-1\n",
         r"dev\.yaml: line 3: duplicate key 'region'$"),
        (b"release:\n  image_digest: a\n  image_digest: b\n",
         r"dev\.yaml: line 3: duplicate key 'image_digest'$"),
        (b"? [1, 2]\n: x\n", r"dev\.yaml: line 1: found unhashable key$"),
    ],
)  # fmt: skip
def test_a_file_yaml_cannot_read_as_one_mapping_is_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    """Bytes that are not UTF-8, a control character, a key given twice (the last would win
    silently: what a merge that kept both sides of a conflict leaves)."""
    (tmp_path / "dev.yaml").write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_environment("dev", tmp_path)
    assert "\n" not in str(caught.value)


def test_yaml_merge_keys_still_merge_and_may_be_overridden(tmp_path: Path) -> None:
    """`<<: *defaults` is YAML's own way to share settings; a key it brings in may be set
    again beside it without being a duplicate; a key given twice beside it still is one."""
    shared = "base: &b {a: 1, b: 2}\nmore: &m {c: 3}\n"
    merged = parse_yaml(tmp_path, shared + "x: {<<: [*b, *m], b: 9}\n")
    assert merged == {"base": {"a": 1, "b": 2}, "more": {"c": 3}, "x": {"a": 1, "b": 9, "c": 3}}
    with pytest.raises(ConfigError, match=r"line 3: duplicate key 'b'$"):
        parse_yaml(tmp_path, shared + "x: {<<: *b, b: 9, b: 8}\n")


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping at the top level"):
        load_environment("dev", tmp_path)


def test_name_must_match_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.update(name="prod"))
    assert "name: 'prod' does not match the file name ('dev')" in message


def test_required_tags(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["tags"].pop("CostCenter"))
    assert "tags: missing required tag(s) CostCenter" in message


def test_stack_owned_tags_are_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["tags"].update(Environment="x"))
    assert "Environment" in message and "set by the stack" in message


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"aws:reserved": "x"}, "tag key 'aws:reserved': 1 to 128 characters, not starting aws:"),
        ({"": "x"}, "tag key '': 1 to 128 characters"),
        ({"k" * 129: "x"}, "1 to 128 characters"),
        ({"Owner2": "v" * 257}, "tag 'Owner2': the value is 257 characters (at most 256)"),
    ],
)
def test_tags_aws_would_refuse_are_refused(tmp_path: Path, tags: dict, expected: str) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["tags"].update(tags))
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("api", "daily_quota", 100000000000000000001),
        ("alarms", "api_latency_ms", 9007199254740993),
        ("alarms", "min_healthy_tasks", 1001),
        ("alarms", "max_db_connections", 100_001),
        ("alarms", "max_target_5xx_per_minute", 1_000_001),
    ],
)
def test_numbers_beyond_what_aws_takes_are_refused(
    tmp_path: Path, section: str, field: str, value: int
) -> None:
    """Unbounded, a huge quota synthesized as 1e20 (and 310 digits as null: no quota at all)."""
    message = load_error(tmp_path, "dev", lambda d: d[section].update({field: value}))
    assert f"{section}.{field}: Input should be less than or equal to" in message


def test_a_huge_rejected_value_is_cut_in_the_error_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.update(region="x" * 100_000))
    assert "region: String should match pattern" in message
    assert "... (100002 characters))" in message and len(message) < 500


def test_an_emulated_environment_is_never_deployed_by_the_pipeline(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, "dev", lambda d: d.update(emulator={"endpoint": "http://127.0.0.1:4566"})
    )
    assert "an emulated environment cannot be deployed by the pipeline" in message


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ({"deploy": True}, "pipeline: wave: required when deploy is true"),
        ({"deploy": False, "wave": 1}, "wave: only an environment the pipeline deploys"),
        ({"deploy": True, "wave": 5}, "wave 5 is outside 1..4: deploy.yml has 4 wave jobs"),
        ({"deploy": True, "wave": 0}, "wave 0 is outside 1..4"),
        ({"deploy": True, "wave": "1"}, "pipeline.wave:"),
        ({"deploy": True, "wave": 1, "apply_role_arn": "admin"}, "pipeline.apply_role_arn:"),
        ({"wave": 1}, "pipeline.deploy: required field is missing"),
        ({"deploy": False, "require_reviewers": True},
         "require_reviewers: only an environment the pipeline deploys"),
        ({"deploy": True, "wave": 1, "reviewers_waiver": "private repository on Team"},
         "reviewers_waiver: only with require_reviewers: true"),
        ({"deploy": True, "wave": 1, "require_plan_reviewers": True,
          "reviewers_waiver": "private repository on Team"},
         "reviewers_waiver: only with require_reviewers: true"),
        ({"deploy": False, "require_plan_reviewers": True},
         "require_plan_reviewers: only an environment the pipeline deploys"),
        ({"deploy": True, "wave": 1, "require_reviewers": True, "reviewers_waiver": "ok"},
         "pipeline.reviewers_waiver:"),
    ],
)  # fmt: skip
def test_pipeline_section_errors_name_the_field(
    tmp_path: Path, pipeline: dict[str, Any], expected: str
) -> None:
    message = load_error(tmp_path, "dev", lambda d: d.update(pipeline=pipeline))
    assert expected in message


def test_only_production_asks_for_required_reviewers_and_waives_nothing() -> None:
    """prod's applies wait for a reviewer, which `gitops deploy` checks on GitHub, and so do
    pull requests' plans of prod (its state holds secrets), which `gitops plan-reviewers` checks."""
    asking = {c.name: c.pipeline.reviewers_waiver for c in load_environments()
              if c.pipeline.require_reviewers}  # fmt: skip
    assert asking == {"prod": None}
    plans = [c.name for c in load_environments() if c.pipeline.require_plan_reviewers]
    assert plans == ["prod"]


@pytest.mark.parametrize("name", ["prod-plan", "dev-plan"])
def test_a_name_that_is_another_environments_plan_environment_is_refused(
    tmp_path: Path, name: str
) -> None:
    """GitHub environment ENV-plan is where pull requests plan ENV; an environment of that name
    would share it (and its plan role's trust) with ENV."""
    (tmp_path / f"{name}.yaml").write_text(environment_file("dev").read_text())
    with pytest.raises(ConfigError) as refused:
        load_environment(name, tmp_path)
    message = str(refused.value)
    assert message.startswith(str(tmp_path / f"{name}.yaml")) and "\n" not in message
    assert f"{name!r}: names ending '-plan' are reserved" in message


def test_role_arns_follow_the_bootstrap_names_unless_the_file_names_them(tmp_path: Path) -> None:
    prod = load_environment("prod")
    assert prod.plan_role_arn == "arn:aws:iam::333333333333:role/fraud-gitops-plan-prod"
    assert prod.apply_role_arn == "arn:aws:iam::333333333333:role/fraud-gitops-apply-prod"
    own = "arn:aws:iam::333333333333:role/platform/deployer"
    write_variant(tmp_path, "prod", lambda d: d["pipeline"].update(apply_role_arn=own))
    changed = load_environment("prod", tmp_path)
    assert changed.apply_role_arn == own
    assert changed.plan_role_arn == prod.plan_role_arn


def test_gov_cloud_roles_get_their_partition(tmp_path: Path) -> None:
    def to_gov(data: dict[str, Any]) -> None:
        data["region"] = "us-gov-west-1"

    write_variant(tmp_path, "dev", to_gov)
    assert load_environment("dev", tmp_path).plan_role_arn.startswith("arn:aws-us-gov:iam::")


def test_state_key_defaults_to_the_environment_name(tmp_path: Path) -> None:
    assert load_environment("prod").state.key == "fraud-detection/prod.tfstate"
    write_variant(tmp_path, "prod", lambda d: d["state"].update(key="elsewhere/prod.tfstate"))
    assert load_environment("prod", tmp_path).state.key == "elsewhere/prod.tfstate"


def test_two_environments_may_not_share_a_state_object(tmp_path: Path) -> None:
    write_variant(tmp_path, "prod", lambda d: None)
    copy = yaml.safe_load((tmp_path / "prod.yaml").read_text())
    copy["state"]["key"] = "fraud-detection/prod.tfstate"
    (tmp_path / "prod-eu.yaml").write_text(yaml.safe_dump(copy))
    with pytest.raises(ConfigError) as caught:
        load_environments(directory=tmp_path)
    message = str(caught.value)
    assert message.endswith(
        "prod-eu.yaml: state: key s3://fraud-detection-tfstate-333333333333/fraud-detection/"
        "prod.tfstate is also the state of prod; give prod-eu its own state.key, or remove it"
        " to get fraud-detection/prod-eu.tfstate"
    )


def test_the_file_that_wrote_a_shared_state_key_is_the_one_named(tmp_path: Path) -> None:
    """dev sorts first and names prod's key; prod uses its default: dev is to blame."""
    write_variant(tmp_path, "prod", lambda d: None)
    bucket = yaml.safe_load((tmp_path / "prod.yaml").read_text())["state"]["bucket"]
    write_variant(tmp_path, "dev", lambda d: d["state"].update(
        bucket=bucket, key="fraud-detection/prod.tfstate"))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_environments(directory=tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'dev.yaml'}: state: key ")
    assert str(caught.value).endswith("give dev its own state.key, or remove it to get"
                                      " fraud-detection/dev.tfstate")  # fmt: skip


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("Prod.yaml", "environment name 'Prod' must match"),
        ("prod_eu.yaml", "environment name 'prod_eu' must match"),
        ("p.yaml", "environment name 'p' must match"),
        ("a" * 22 + ".yaml", "2 to 21 characters"),
        ("prod-eu.yml", "environment files end in .yaml"),
    ],
)
def test_a_file_name_that_is_no_environment_name_is_refused(
    tmp_path: Path, file_name: str, expected: str
) -> None:
    write_variant(tmp_path, "dev", lambda d: None)
    (tmp_path / file_name).write_text("region: us-east-1\n")
    with pytest.raises(ConfigError) as caught:
        environment_names(tmp_path)
    assert expected in str(caught.value) and file_name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_any_file_is_an_environment_named_by_the_file(tmp_path: Path) -> None:
    write_variant(tmp_path, "dev", lambda d: None)
    (tmp_path / "dev-eu2.yaml").write_text((tmp_path / "dev.yaml").read_text())
    (tmp_path / ".dev.yaml.promote").write_text("half-written")
    assert environment_names(tmp_path) == ("dev", "dev-eu2")
    assert load_environment("dev-eu2", tmp_path).stack_name == "fraud-detection-dev-eu2"
    with pytest.raises(ConfigError, match=r"unknown environment 'qa': expected one of dev, dev-"):
        load_environment("qa", tmp_path)


def test_image_must_be_pinned_by_digest(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["release"].update(image_digest="latest"))
    assert "release.image_digest:" in message


def test_log_retention_must_be_a_value_aws_accepts(tmp_path: Path) -> None:
    message = load_error(tmp_path, "dev", lambda d: d["logs"].update(retention_days=31))
    assert "logs.retention_days:" in message


def test_several_errors_stay_on_one_line(tmp_path: Path) -> None:
    def break_two(data: dict[str, Any]) -> None:
        data["service"]["cpu"] = 300
        data["waf"]["blocked_countries"] = ["north korea"]

    message = load_error(tmp_path, "dev", break_two)
    assert "service.cpu:" in message and "waf.blocked_countries.0:" in message


def test_environments_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_variant(tmp_path, "dev", lambda d: d["service"].update(max_tasks=7))
    monkeypatch.setenv("GITOPS_ENVIRONMENTS_DIR", str(tmp_path))
    assert load_environment("dev").service.max_tasks == 7


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        ("CodeDeployDefault.ECSHalfAtOnce", "is not a CodeDeploy ECS configuration"),
        ({"canary": {"percent": 10}}, "canary: expected exactly {percent: P, minutes: M}"),
        ({"linear": {"percent": 10, "minutes": 0}}, "minutes: Input should be greater than"),
        ({"predefined": "anything"}, "'anything' is not a CodeDeploy ECS configuration"),
        ({"kind": "canary"}, "expected a CodeDeploy ECS configuration name"),
        (
            {"predefined": "CodeDeployDefault.ECSAllAtOnce", "percent": 10},
            "a predefined configuration takes no kind, percent or minutes",
        ),
        ({"rolling": 50}, "expected a CodeDeploy ECS configuration name"),
    ],
)
def test_a_deployment_config_is_a_known_name_or_a_complete_step(
    tmp_path: Path, shift: Any, expected: str
) -> None:
    """Also in the model's own shape (`predefined:` / `kind:`), which a file could use: a
    half-filled canary must fail here, not as an assertion in the middle of a synth."""
    message = load_error(
        tmp_path, "prod", lambda d: d["blue_green"].update(deployment_config=shift)
    )
    assert "blue_green.deployment_config" in message
    assert expected in message
