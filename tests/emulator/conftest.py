"""An emulator per test session, in its own work folder, never the developer's own."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from gitops.emulator import server as emulator


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """GITOPS_WORK_DIR for the whole session, so emulator files never touch .gitops/."""
    path = tmp_path_factory.mktemp("gitops-work")
    previous = os.environ.get("GITOPS_WORK_DIR")
    os.environ["GITOPS_WORK_DIR"] = str(path)
    yield path
    emulator.stop()
    if previous is None:
        os.environ.pop("GITOPS_WORK_DIR", None)
    else:
        os.environ["GITOPS_WORK_DIR"] = previous


@pytest.fixture(scope="session")
def aws(work_dir: Path) -> Callable[[str], Any]:
    """boto3 client factory against the running emulator, started when none runs.

    The endpoint is looked up per client: a module may replace the emulator (a fresh one for
    a deployment), and clients made afterwards must follow it.
    """
    session = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=emulator.EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=emulator.EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )

    def client(service: str) -> Any:
        endpoint = emulator.start().endpoint
        return session.client(service, endpoint_url=endpoint, verify=str(emulator.ca_bundle()))

    return client
