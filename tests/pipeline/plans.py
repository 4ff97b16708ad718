"""Real plans, made by the real terraform binary with its built-in `terraform_data` resource
(no provider download), covering create, update, replace, destroy, no changes, a sensitive
value and a large plan; plus `scaled` to build a 20,000-change plan from a real one."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

VERSION_1 = """
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "kept" { input = "unchanged" }
resource "terraform_data" "updated" { input = "one" }
resource "terraform_data" "removed" { input = { size = 1 } }
resource "terraform_data" "replaced" { triggers_replace = ["x"] }
resource "terraform_data" "credentials" { input = var.secret }
output "greeting" { value = "hello" }
"""
VERSION_2 = """
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "kept" { input = "unchanged" }
resource "terraform_data" "updated" { input = "two" }
resource "terraform_data" "replaced" { triggers_replace = ["y"] }
resource "terraform_data" "credentials" { input = var.secret }
output "greeting" { value = "hello again" }
"""
LARGE = """
resource "terraform_data" "many" {
  count = 2000
  input = "value-${count.index}"
}
"""
SECRET_1 = "hunter2-first-secret"  # pragma: allowlist secret
SECRET_2 = "hunter2-second-secret"  # pragma: allowlist secret


def _terraform(directory: Path, *args: str, secret: str = SECRET_1) -> str:
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(directory / "empty.rc"),
        "TF_VAR_secret": secret,
        "TF_IN_AUTOMATION": "1",
    }
    result = subprocess.run(
        ["terraform", *args], cwd=directory, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def _plan(directory: Path, name: str, secret: str = SECRET_1) -> dict[str, Any]:
    _terraform(directory, "plan", "-input=false", "-no-color", f"-out={name}.tfplan", secret=secret)
    text = _terraform(directory, "show", "-json", f"{name}.tfplan")
    (directory / f"{name}.json").write_text(text)
    return json.loads(text)


def make_plans(directory: Path) -> dict[str, dict[str, Any]]:
    """create, no_changes, mixed (update + replace + destroy + sensitive + output), again, large."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "empty.rc").write_text("")
    (directory / "main.tf").write_text(VERSION_1)
    _terraform(directory, "init", "-input=false", "-no-color")
    plans = {"create": _plan(directory, "create")}
    _terraform(directory, "apply", "-input=false", "-no-color", "create.tfplan")
    plans["no_changes"] = _plan(directory, "no_changes")
    (directory / "main.tf").write_text(VERSION_2)
    plans["mixed"] = _plan(directory, "mixed", secret=SECRET_2)
    time.sleep(1.1)  # plan timestamps have one-second resolution
    plans["mixed_again"] = _plan(directory, "mixed_again", secret=SECRET_2)
    large = directory / "large"
    large.mkdir()
    (large / "empty.rc").write_text("")
    (large / "main.tf").write_text(LARGE)
    _terraform(large, "init", "-input=false", "-no-color")
    plans["large"] = _plan(large, "large")
    return plans


def scaled(plan: dict[str, Any], size: int) -> dict[str, Any]:
    """A plan of `size` changes built by repeating a real plan's changes at new addresses."""
    result = copy.deepcopy(plan)
    templates = [c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]]
    changes = []
    for index in range(size):
        change = copy.deepcopy(templates[index % len(templates)])
        change["address"] = f"{change['type']}.scaled_{index}"
        change["name"] = f"scaled_{index}"
        changes.append(change)
    result["resource_changes"] = changes
    return result
