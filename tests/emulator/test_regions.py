"""Two regions in one emulator: `local` and a copy of it in us-west-2 (`local-west`), deployed
in parallel into the same emulator and account, each re-planning to no changes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitops.emulator import server as emulator

from infra.environments import DEFAULT_ENVIRONMENTS_DIR

pytestmark = pytest.mark.slow
GITOPS = str(Path(sys.executable).with_name("gitops"))


def test_two_regions_deploy_in_parallel_into_one_emulator_and_replan_empty(
    work_dir: Path, tmp_path: Path
) -> None:
    environments = tmp_path / "environments"
    environments.mkdir()
    shutil.copy(DEFAULT_ENVIRONMENTS_DIR / "local.yaml", environments / "local.yaml")
    text = (DEFAULT_ENVIRONMENTS_DIR / "local.yaml").read_text()
    west, count = re.subn(r"(?m)^region: us-east-1$", "region: us-west-2", text)
    assert count == 1
    (environments / "local-west.yaml").write_text(west)
    outdir = tmp_path / "out"
    env = {**os.environ, "GITOPS_ENVIRONMENTS_DIR": str(environments)}

    logs: dict[int, Path] = {}

    def gitops(*args: str) -> subprocess.Popen[bytes]:
        # Output to a file, not a pipe: a full pipe would stall one apply while the test
        # waits on the other, and the two would no longer run in parallel.
        log = tmp_path / f"{'-'.join(args)}.log"
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                [GITOPS, *args, "--outdir", str(outdir)], env=env,
                stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        logs[process.pid] = log
        return process

    def finish(process: subprocess.Popen[bytes]) -> str:
        process.wait(timeout=1500)
        output = logs[process.pid].read_text()
        assert process.returncode == 0, output[-3000:]
        return output

    emulator.stop()  # an empty account
    emulator.start()
    try:
        for name in ("local", "local-west"):
            finish(gitops("bootstrap", name))
        finish(gitops("synth", "local", "local-west"))  # once, then both in parallel
        applies = [gitops("apply", name) for name in ("local", "local-west")]
        outputs = [finish(process) for process in applies]
        assert "alb_dns_name = fraud-alb-local-" in outputs[0]
        assert ".us-west-2." in outputs[1], "local-west's resources live in us-west-2"

        for name in ("local", "local-west"):
            replan = finish(gitops("plan", name))
            assert f"fraud-detection-{name}: no changes" in replan, replan[-2000:]
    finally:
        emulator.stop()
