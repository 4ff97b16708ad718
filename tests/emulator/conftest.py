"""An emulator per test session, in the session's work folder (tests/conftest.py), never the
developer's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from gitops.emulator import server as emulator


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
