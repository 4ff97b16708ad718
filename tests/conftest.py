"""Shared fixtures: one synthesized app per pytest process (the jsii runtime loads once)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent
SYNTH_FIXTURES = {"synth_outdir", "stacks"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup` (make test-fast), one group per test file, as `loadfile` does,
    except that every file that synthesizes in this process is one group, "synth": a single
    worker then loads the jsii runtime and synthesizes the session's stacks (seconds each),
    and the others never do. A test may name its own group with `xdist_group`."""
    if not getattr(config.option, "loadgroup", False):
        return
    by_file: defaultdict[Path, list[pytest.Item]] = defaultdict(list)
    for item in items:
        by_file[item.path].append(item)
    for path, file_items in by_file.items():
        synthesizes = path.parent.name == "synth" or any(
            SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())) for item in file_items
        )
        group = "synth" if synthesizes else path.relative_to(REPO_ROOT).as_posix()
        for item in file_items:
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", autouse=True)
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """GITOPS_WORK_DIR for every test, whichever folder is run alone: no test writes into the
    checkout's .gitops/ (Terraform CLI config, plugin cache, emulator state)."""
    path = tmp_path_factory.mktemp("gitops-work")
    previous = os.environ.get("GITOPS_WORK_DIR")
    os.environ["GITOPS_WORK_DIR"] = str(path)
    yield path
    from gitops.emulator import server as emulator

    emulator.stop()  # the session's emulator, if a test started one
    if previous is None:
        os.environ.pop("GITOPS_WORK_DIR", None)
    else:
        os.environ["GITOPS_WORK_DIR"] = previous


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every environment synthesized once, in-process, into a session folder."""
    from infra.app import synthesize
    from infra.environments import load_environments

    outdir = tmp_path_factory.mktemp("cdktf.out")
    synthesize(load_environments(), outdir)
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesized Terraform JSON per environment name."""
    from infra.app import stack_file
    from infra.environments import environment_names

    return {
        name: json.loads(stack_file(synth_outdir, f"fraud-detection-{name}").read_text())
        for name in environment_names()
    }
