"""Two real applies of one state in the emulator's S3 backend with DynamoDB locking.

The first apply holds the lock for as long as its resource is being created: a `local-exec`
provisioner that waits on a named pipe, which the test opens only after the second run has
been refused. No sleep stands in for the work; the lock is Terraform's own.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from gitops.bootstrap.state_backend import bootstrap
from gitops.emulator import server as emulator
from gitops.emulator.local import runner_for
from gitops.terraform import plan_apply
from gitops.terraform.plan_apply import StateLocked

from infra.environments import load_environment

pytestmark = pytest.mark.slow


def write_stack(stack_dir: Path, config, key: str, gate: Path, value: str) -> None:
    """One `terraform_data` whose creation waits until someone writes to `gate`."""
    assert config.emulator is not None
    stack = {
        "terraform": {
            "backend": {
                "s3": {
                    "bucket": config.state.bucket,
                    "key": key,
                    "region": config.state.region,
                    "dynamodb_table": config.state.lock_table,
                    "encrypt": True,
                    "endpoints": {
                        "s3": config.emulator.endpoint,
                        "dynamodb": config.emulator.endpoint,
                    },
                    "use_path_style": True,
                    "skip_credentials_validation": True,
                    "skip_requesting_account_id": True,
                    "skip_metadata_api_check": True,
                    "skip_region_validation": True,
                }
            }
        },
        "resource": {
            "terraform_data": {
                "release": {
                    "input": value,
                    "triggers_replace": [value],
                    "provisioner": [{"local-exec": {"command": f"read line < {gate}"}}],
                }
            }
        },
    }
    (stack_dir / "main.tf.json").write_text(json.dumps(stack))


@pytest.fixture
def locked_stack(aws, tmp_path: Path):
    aws("sts")  # the emulator is up
    config = emulator.attach(load_environment("local"))
    bootstrap(config)
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    gate = tmp_path / "gate.fifo"
    os.mkfifo(gate)
    key = f"tests/lock-{uuid.uuid4().hex[:8]}.tfstate"
    write_stack(stack_dir, config, key, gate, "v1")
    runner = runner_for(config)
    plan_apply.init(runner, stack_dir)
    return config, runner, stack_dir, gate, key


def release(gate: Path, timeout: float = 120.0) -> None:
    """Let the waiting provisioner finish; never block when nobody reads (a failed first apply)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            descriptor = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            time.sleep(0.1)
            continue
        with os.fdopen(descriptor, "w") as pipe:
            pipe.write("go\n")
        return


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(locked_stack, aws) -> None:
    config, runner, stack_dir, gate, key = locked_stack
    first_plan = plan_apply.plan(runner, stack_dir)
    assert first_plan.has_changes
    outcome: dict[str, BaseException | None] = {}

    def first_apply() -> None:
        try:
            plan_apply.apply(runner, stack_dir, first_plan.plan_file, echo=False)
            outcome["first"] = None
        except BaseException as error:  # reported to the test thread below
            outcome["first"] = error

    holder = threading.Thread(target=first_apply)
    holder.start()
    lock_id = f"{config.state.bucket}/{key}"
    table = aws("dynamodb")
    try:
        # The lock item appears once the first apply has taken it; its Info names the holder.
        item: dict = {}
        deadline = time.monotonic() + 600
        while "Item" not in item and holder.is_alive() and time.monotonic() < deadline:
            item = table.get_item(TableName=config.state.lock_table, Key={"LockID": {"S": lock_id}})
            time.sleep(0.1)
        assert "Item" in item, f"the first apply never took the lock: {outcome.get('first')}"
        info = json.loads(item["Item"]["Info"]["S"])

        second_dir = stack_dir.parent / "second"
        second_dir.mkdir()
        write_stack(second_dir, config, key, gate, "v2")
        plan_apply.init(runner, second_dir)
        with pytest.raises(StateLocked) as refused:
            plan_apply.plan(runner, second_dir)
        message = str(refused.value)
        assert message == (
            f"state-locked: second is being changed by {info['Who']} (apply, lock {info['ID']});"
            " wait for it to finish, then re-run"
        )
        assert "wait for it to finish, then re-run" in message
        assert not (second_dir / plan_apply.PLAN_FILE).exists(), "a refused run leaves no plan"
    finally:
        release(gate)
        holder.join(timeout=300)
    assert outcome.get("first") is None, outcome.get("first")
    assert "Item" not in table.get_item(
        TableName=config.state.lock_table, Key={"LockID": {"S": lock_id}}
    ), "the lock is released when the first apply ends"

    state = json.loads(aws("s3").get_object(Bucket=config.state.bucket, Key=key)["Body"].read())
    (resource,) = state["resources"]
    assert resource["instances"][0]["attributes"]["input"]["value"] == "v1", (
        "the holder's apply stands"
    )
