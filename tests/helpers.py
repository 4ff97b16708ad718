"""Small readers over synthesized Terraform JSON, the scratch environments the tests add, and
`gitops` run in the test's own process."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def gitops_in_process(
    args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`gitops ARGS` as its console script runs it (`main()` and its exit status), in this
    process: a fresh interpreter spends 0.7 s importing before the command starts. `env`
    replaces the environment for the call, as `subprocess.run`'s does. tests/cli/ runs the
    console script itself."""
    from gitops.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environment, saved_cwd = dict(os.environ), Path.cwd()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(args))
            except SystemExit as exit_:  # argparse's usage errors and --help
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)
    command = ["gitops", *args]
    return subprocess.CompletedProcess(command, status, stdout.getvalue(), stderr.getvalue())


def resources(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Every resource of one type (`data.<type>` for data sources), by its logical id."""
    if resource_type.startswith("data."):
        return stack.get("data", {}).get(resource_type.removeprefix("data."), {})
    return stack.get("resource", {}).get(resource_type, {})


def one(stack: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The single resource of a type; fails loudly when there are none or several."""
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def find(stack: dict[str, Any], resource_type: str, path: str) -> tuple[str, dict[str, Any]]:
    """(logical id, body) of the resource whose construct path ends with `path`."""
    for logical_id, body in resources(stack, resource_type).items():
        if body["//"]["metadata"]["path"].endswith("/" + path):
            return logical_id, body
    raise AssertionError(f"no {resource_type} at construct path */{path}")


def ref(stack: dict[str, Any], resource_type: str, path: str, attribute: str) -> str:
    """The `${type.id.attribute}` expression that refers to a resource's attribute."""
    logical_id, _ = find(stack, resource_type, path)
    return f"${{{resource_type}.{logical_id}.{attribute}}}"


def environments_with_prod_eu(directory: Path) -> Path:
    """The shipped environment files in `directory`, plus `prod-eu`: prod's file, in eu-west-1.

    Nothing else changes, anywhere: that a new region is one file is what the tests prove.
    """
    import re
    import shutil

    from infra.environments import DEFAULT_ENVIRONMENTS_DIR

    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, directory, dirs_exist_ok=True)
    prod = (directory / "prod.yaml").read_text()
    prod_eu, count = re.subn(r"(?m)^region: us-east-1$", "region: eu-west-1", prod)
    assert count == 1, "prod.yaml has one top-level region line"
    (directory / "prod-eu.yaml").write_text(prod_eu)
    return directory
