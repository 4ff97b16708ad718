"""`gitops local up` and `down` synthesize only when the stack's code or settings changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitops import stacks
from gitops.stacks import INPUTS_FILE, synth_sources, synthesize_if_changed

from infra.config import EnvironmentConfig
from infra.environments import load_environment


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A stand-in for one file of infra/: the tests change it instead of the repository's."""
    path = tmp_path / "construct.py"
    path.write_text("RULES = 1\n")
    return path


@pytest.fixture
def synth_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Each synthesis asked for, writing a stack file that names its settings' log level."""
    calls: list[list[str]] = []

    def write_stacks(configs: list[EnvironmentConfig], outdir: Path) -> list[Path]:
        calls.append([config.name for config in configs])
        written = []
        for config in configs:
            stack = outdir / "stacks" / config.stack_name / "cdk.tf.json"
            stack.parent.mkdir(parents=True, exist_ok=True)
            stack.write_text(json.dumps({"log_level": config.release.log_level}))
            written.append(stack)
        return written

    monkeypatch.setattr(stacks, "synthesize", write_stacks)
    return calls


def test_the_same_settings_and_sources_synthesize_once(
    tmp_path: Path, source: Path, synth_calls: list[list[str]]
) -> None:
    local = load_environment("local")
    assert synthesize_if_changed([local], tmp_path, [source]) != []
    assert synthesize_if_changed([local], tmp_path, [source]) == []
    assert synth_calls == [["local"]]


def test_changed_settings_a_changed_source_or_an_edited_stack_synthesize_again(
    tmp_path: Path, source: Path, synth_calls: list[list[str]]
) -> None:
    local = load_environment("local")
    synthesize_if_changed([local], tmp_path, [source])
    quieter = "ERROR" if local.release.log_level != "ERROR" else "DEBUG"
    release = local.release.model_copy(update={"log_level": quieter})
    assert synthesize_if_changed(
        [local.model_copy(update={"release": release})], tmp_path, [source]
    )
    source.write_text("RULES = 2\n")
    assert synthesize_if_changed([local], tmp_path, [source])
    stack = tmp_path / "stacks" / local.stack_name / "cdk.tf.json"
    stack.write_text(stack.read_text() + " ")  # edited by hand since
    assert synthesize_if_changed([local], tmp_path, [source])
    (tmp_path / "stacks" / local.stack_name / INPUTS_FILE).unlink()
    assert synthesize_if_changed([local], tmp_path, [source])
    assert len(synth_calls) == 5
    assert synthesize_if_changed([local], tmp_path, [source]) == []


def test_one_stale_stack_resynthesizes_all_that_were_asked_for(
    tmp_path: Path, source: Path, synth_calls: list[list[str]]
) -> None:
    dev, local = load_environment("dev"), load_environment("local")
    synthesize_if_changed([dev, local], tmp_path, [source])
    (tmp_path / "stacks" / dev.stack_name / "cdk.tf.json").unlink()
    synthesize_if_changed([dev, local], tmp_path, [source])
    assert synth_calls == [["dev", "local"], ["dev", "local"]]


def test_the_sources_are_the_construct_code_the_lock_and_cdktf_json() -> None:
    names = {path.name for path in synth_sources()}
    assert {"stack.py", "waf.py", "config.py", "uv.lock", "cdktf.json"} <= names
    assert all(path.is_file() for path in synth_sources())


def test_a_real_synth_is_reused_until_the_settings_change(tmp_path: Path) -> None:
    local = load_environment("local")
    (stack,) = synthesize_if_changed([local], tmp_path)
    first = stack.stat().st_mtime_ns
    assert synthesize_if_changed([local], tmp_path) == []
    assert stack.stat().st_mtime_ns == first
    assert json.loads(stack.read_text())["resource"]["aws_ecs_cluster"]
