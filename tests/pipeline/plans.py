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


def make_mixed_plan(directory: Path) -> dict[str, dict[str, Any]]:
    """create, no_changes and mixed (update + replace + destroy + sensitive + output): what a
    test of the commands needs, in half a second."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "empty.rc").write_text("")
    (directory / "main.tf").write_text(VERSION_1)
    _terraform(directory, "init", "-input=false", "-no-color")
    plans = {"create": _plan(directory, "create")}
    _terraform(directory, "apply", "-input=false", "-no-color", "create.tfplan")
    plans["no_changes"] = _plan(directory, "no_changes")
    (directory / "main.tf").write_text(VERSION_2)
    plans["mixed"] = _plan(directory, "mixed", secret=SECRET_2)
    return plans


def make_plans(directory: Path) -> dict[str, dict[str, Any]]:
    """Those of `make_mixed_plan`, the mixed one again a second later, and a 2,000-resource one
    (3 s to plan)."""
    plans = make_mixed_plan(directory)
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


# --- the rest of Terraform's plan vocabulary -------------------------------------------------
# Each scenario applies BEFORE, then plans AFTER (with extra plan arguments, after `taint` when
# asked). Two kinds cannot be made here: `resource_drift` needs a provider whose refresh reads
# something new, and terraform_data's refresh returns its stored state as is (editing the state
# changes nothing Terraform reports); `deferred_changes` need Terraform's deferral experiment,
# which release builds of 1.11 do not have. `with_drift_and_deferral` derives both from a real
# plan instead.

BEFORE = """
resource "terraform_data" "kept" { input = "k" }
resource "terraform_data" "forgotten" { input = "f" }
resource "terraform_data" "old_name" { input = "m" }
resource "terraform_data" "updated" { input = "one" }
resource "terraform_data" "replaced" { triggers_replace = ["x"] }
resource "terraform_data" "tainted" { input = "t" }
"""
KEEP_REST = """
resource "terraform_data" "kept" { input = "k" }
resource "terraform_data" "old_name" { input = "m" }
resource "terraform_data" "updated" { input = "one" }
resource "terraform_data" "replaced" { triggers_replace = ["x"] }
resource "terraform_data" "tainted" { input = "t" }
"""
FORGET = """
removed {
  from = terraform_data.forgotten
  lifecycle { destroy = false }
}
"""
MOVE = """
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
resource "terraform_data" "new_name" { input = "m" }
"""
IMPORT = """
import {
  to = terraform_data.imported
  id = "abc-123"
}
resource "terraform_data" "imported" {}
"""
FAILING_CHECKS = """
check "health" {
  assert {
    condition     = terraform_data.kept.input == "nope"
    error_message = "kept input is not nope"
  }
}
resource "terraform_data" "fresh" { input = "n" }
check "later" {
  assert {
    condition     = terraform_data.fresh.id == "z"
    error_message = "fresh id is not z"
  }
}
"""
ERRORED = """
resource "terraform_data" "a" { input = "a" }
resource "terraform_data" "b" {
  input = "b"
  lifecycle {
    precondition {
      condition     = terraform_data.a.input == "zzz"
      error_message = "a must be zzz"
    }
  }
}
"""
SCENARIOS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    # name: (configuration planned after BEFORE is applied, plan arguments, taint first)
    "empty": (BEFORE, (), False),
    "forget": (KEEP_REST + FORGET, (), False),
    "move": (BEFORE.replace('resource "terraform_data" "old_name" { input = "m" }', MOVE), (),
             False),
    "import": (BEFORE + IMPORT, (), False),
    "replace_paths": (BEFORE.replace('["x"]', '["y"]'), (), False),
    "requested": (BEFORE, ("-replace=terraform_data.kept",), False),
    "tainted": (BEFORE, (), True),
    "failed_check": (BEFORE + FAILING_CHECKS, (), False),
    "targeted": (BEFORE.replace('"one"', '"two"').replace('["x"]', '["y"]'),
                 ("-target=terraform_data.updated",), False),
    "all": (
        KEEP_REST.replace('resource "terraform_data" "old_name" { input = "m" }', MOVE)
        .replace('"one"', '"two"').replace('["x"]', '["y"]')
        + FORGET + IMPORT + FAILING_CHECKS,
        ("-replace=terraform_data.kept",),
        True,
    ),
}  # fmt: skip


def make_vocabulary_plans(directory: Path) -> dict[str, dict[str, Any]]:
    """One real plan per kind in SCENARIOS, plus `errored` (a failed precondition), whose plan
    Terraform saves although it exits 1. Each is also left as `<name>.json`, and what
    Terraform printed while planning as `<name>.txt`."""
    directory.mkdir(parents=True, exist_ok=True)
    plans = {}
    for name, (after, plan_args, taint) in SCENARIOS.items():
        scenario = directory / name
        scenario.mkdir()
        (scenario / "empty.rc").write_text("")
        (scenario / "main.tf").write_text(BEFORE)
        _terraform(scenario, "init", "-input=false", "-no-color")
        _terraform(scenario, "apply", "-input=false", "-no-color", "-auto-approve")
        if taint:
            _terraform(scenario, "taint", "-no-color", "terraform_data.tainted")
        (scenario / "main.tf").write_text(after)
        said = _terraform(
            scenario, "plan", "-input=false", "-no-color", f"-out={name}.tfplan", *plan_args
        )
        (directory / f"{name}.txt").write_text(said)
        text = _terraform(scenario, "show", "-json", f"{name}.tfplan")
        (directory / f"{name}.json").write_text(text)
        plans[name] = json.loads(text)
    errored = directory / "errored"
    errored.mkdir()
    (errored / "empty.rc").write_text("")
    (errored / "main.tf").write_text(ERRORED)
    _terraform(errored, "init", "-input=false", "-no-color")
    try:
        _terraform(errored, "plan", "-input=false", "-no-color", "-out=errored.tfplan")
    except subprocess.CalledProcessError as error:
        assert "Resource precondition failed" in error.stdout + error.stderr
    else:
        raise AssertionError("the errored scenario planned without an error")
    text = _terraform(errored, "show", "-json", "errored.tfplan")
    (directory / "errored.json").write_text(text)
    plans["errored"] = json.loads(text)
    return plans


def with_drift_and_deferral(plan: dict[str, Any]) -> dict[str, Any]:
    """A real plan with its own changes also reported as drift (updated and deleted outside
    Terraform) and as deferred, the two kinds terraform_data cannot make (see above)."""
    result = copy.deepcopy(plan)
    by_action = {tuple(c["change"]["actions"]): c for c in plan["resource_changes"]}
    updated = copy.deepcopy(by_action[("update",)])
    deleted = copy.deepcopy(by_action[("update",)])
    deleted["address"], deleted["name"] = "terraform_data.gone", "gone"
    deleted["change"] |= {"actions": ["delete"], "after": None}
    result["resource_drift"] = [updated, deleted]
    deferred = copy.deepcopy(by_action[("update",)])
    deferred["address"], deferred["name"] = "terraform_data.later", "later"
    later = {"reason": "resource_config_unknown", "resource_change": deferred}
    result["deferred_changes"] = [later]
    return result
