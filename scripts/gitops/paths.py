"""Where the tooling keeps its files: all of them git-ignored, under the repository root."""

from __future__ import annotations

import os
from pathlib import Path

from infra.config import REPO_ROOT

WORK_DIR_VARIABLE = "GITOPS_WORK_DIR"


def work_dir() -> Path:
    """`.gitops/` at the repository root (Terraform CLI config, provider cache, emulator files)."""
    override = os.environ.get(WORK_DIR_VARIABLE)
    return Path(override) if override else REPO_ROOT / ".gitops"


def default_outdir() -> Path:
    """`cdktf.out/` at the repository root, wherever the command is run from."""
    return REPO_ROOT / "cdktf.out"


def write_atomically(path: Path, text: str) -> Path:
    """Write the whole file or nothing: a crash mid-write leaves the old file (or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
