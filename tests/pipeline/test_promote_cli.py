"""`gitops promote` as the promote workflow runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.environments import DEFAULT_ENVIRONMENTS_DIR
from tests.helpers import gitops_in_process

NEW_DIGEST = "sha256:" + "ab" * 32


def run(*args: str, environments: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITOPS_ENVIRONMENTS_DIR": str(environments)}
    return gitops_in_process(args, env)


def test_promote_writes_the_target_and_the_pr_body(tmp_path: Path) -> None:
    environments = tmp_path / "environments"
    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, environments)
    dev = environments / "dev.yaml"
    text = dev.read_text()
    old_digest = text.split('image_digest: "', 1)[1].split('"', 1)[0]
    dev.write_text(text.replace(old_digest, NEW_DIGEST).replace('"1.4.0"', '"1.5.0"'))

    body = tmp_path / "body.md"
    result = run("promote", "--from", "dev", "--to", "staging", "--pr-body-file", str(body),
                 environments=environments)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("promoted dev -> staging: image_digest, app_version")
    assert "branch: promote/staging/1.5.0-abababab" in result.stdout
    assert NEW_DIGEST in (environments / "staging.yaml").read_text()
    assert "| `image_digest` |" in body.read_text()

    again = run("promote", "--from", "dev", "--to", "staging", environments=environments)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "gitops promote: error: nothing to promote: staging already runs dev's release 1.5.0 "
        "(abababab)"
    )


def test_promote_refuses_going_backwards(tmp_path: Path) -> None:
    result = run(
        "promote", "--from", "prod", "--to", "staging", environments=DEFAULT_ENVIRONMENTS_DIR
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "promotion only goes forward" in result.stderr
