"""The `gitops` console script as people and CI run it: output, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitops.cli import Handler, build_parser, main

GITOPS = str(Path(sys.executable).with_name("gitops"))


def gitops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int, text: str):
    assert result.returncode == exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    assert text in lines[0]


def test_no_command() -> None:
    assert_one_line_error(gitops(), 2, "the following arguments are required: COMMAND")


def test_unknown_command() -> None:
    assert_one_line_error(gitops("deploy-everything"), 2, "invalid choice: 'deploy-everything'")


@pytest.mark.parametrize("command", ["synth", "validate"])
def test_unknown_environment_writes_nothing(command: str, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    result = gitops(command, "dev", "qa", "--outdir", str(outdir))
    expected = "unknown environment 'qa': expected one of dev, local, prod, staging"
    assert_one_line_error(result, 2, expected)
    assert not outdir.exists()


def test_invalid_environment_file_names_file_and_field(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "environments" / "prod.yaml"
    (tmp_path / "prod.yaml").write_text(source.read_text().replace("max_tasks: 10", "max_tasks: 1"))
    result = gitops("synth", "prod", env={"GITOPS_ENVIRONMENTS_DIR": str(tmp_path)})
    assert_one_line_error(
        result, 2, f"{tmp_path / 'prod.yaml'}: service: min_tasks (2) must be <= max_tasks (1)"
    )


def test_validate_without_terraform_fails_before_synth(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    python_only = str(Path(sys.executable).parent)
    result = gitops("validate", "dev", "--outdir", str(outdir), env={"PATH": python_only})
    assert_one_line_error(result, 1, "terraform: not found on PATH")
    assert not outdir.exists()


def test_configured_mirror_without_the_provider(tmp_path: Path) -> None:
    result = gitops(
        "validate",
        "dev",
        "--outdir",
        str(tmp_path / "out"),
        env={"GITOPS_PROVIDER_MIRROR": str(tmp_path), "GITOPS_WORK_DIR": str(tmp_path / "w")},
    )
    assert_one_line_error(result, 1, f"GITOPS_PROVIDER_MIRROR={tmp_path}: no registry.terraform")


def test_synth_into_an_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    result = gitops("synth", "dev", "--outdir", str(blocker))
    assert_one_line_error(result, 1, f"synth of dev failed: {blocker} is a file, not a folder")
    assert blocker.read_text() == "not a folder\n"
    result = gitops("synth", "dev", "--outdir", str(blocker / "out"))
    assert_one_line_error(result, 1, f"cannot create {blocker / 'out'}: Not a directory")


@pytest.mark.xdist_group("synth")
def test_synth_writes_the_named_stacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In this process, whose jsii runtime is already loaded: a fresh one takes 10 s to start."""
    outdir = tmp_path / "out"
    assert main(["synth", "dev", "local", "--outdir", str(outdir)]) == 0
    for env in ("dev", "local"):
        assert (outdir / "stacks" / f"fraud-detection-{env}" / "cdk.tf.json").is_file()
    assert not (outdir / "stacks" / "fraud-detection-prod").exists()
    assert "2 stack(s) in" in capsys.readouterr().out


def test_every_command_names_a_function_that_exists() -> None:
    """Handlers are imported only when their command runs; a misspelt one would fail only
    then, in front of whoever ran it."""
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) >= 15
    for name, sub in commands.choices.items():
        handler = sub.get_default("handler")
        assert isinstance(handler, Handler), name
        module = importlib.import_module(f"gitops.{handler.concern}.commands")
        assert callable(getattr(module, handler.function, None)), (name, handler)
