"""A real Terraform working folder with local state, for the plan and apply tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gitops.terraform import plan_apply
from gitops.terraform.runner import TerraformRunner


def local_stack(directory: Path, code: str) -> tuple[TerraformRunner, Path]:
    """`code` as main.tf in `directory`, initialized, with no CLI configuration of the user's."""
    directory.mkdir()
    (directory / "empty.rc").write_text("")
    (directory / "main.tf").write_text(code)
    environ = {**os.environ, "TF_CLI_CONFIG_FILE": str(directory / "empty.rc")}
    runner = TerraformRunner(Path(shutil.which("terraform") or "terraform"), environ)
    plan_apply.init(runner, directory)
    return runner, directory
