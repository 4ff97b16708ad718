"""The skip list and the pure decisions of the gate, without running checkov."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.policy import gate as policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    return path


def finding(check_id: str, path: str, environment: str | None, status="failed") -> policy.Finding:
    return policy.Finding(
        environment=environment,
        stack_file=Path("cdk.tf.json"),
        check_id=check_id,
        check_name="a check",
        resource=f"aws_x.{path.replace('/', '_')}",
        construct_path=path,
        status=status,
    )


def test_the_shipped_skip_list_loads_and_every_entry_has_a_reason() -> None:
    skips = policy.load_skips()
    assert 0 < len(skips) <= 12, "keep the skip list short"
    assert all(len(skip.reason) >= policy.MIN_REASON_LENGTH for skip in skips)


def test_a_skip_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- check: CKV_AWS_1\n  resources: ['*']\n")
    with pytest.raises(GitopsError, match=r"skip 1 \(CKV_AWS_1\): reason: required: every skip"):
        policy.load_skips(path)


def test_a_one_word_reason_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- check: CKV_AWS_1\n  resources: ['*']\n  reason: because\n")
    with pytest.raises(GitopsError, match=r"skip 1 \(CKV_AWS_1\): reason: String should have at"):
        policy.load_skips(path)


def test_a_skip_list_yaml_cannot_read_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "- check: CKV_AWS_1\n  resources: ['*'\n")
    with pytest.raises(GitopsError, match=r"skips\.yaml: line 3: invalid YAML \(expected ',' or"):
        policy.load_skips(path)
    path.write_bytes(b"- check: \xff\n")
    with pytest.raises(GitopsError, match=r"skips\.yaml: not UTF-8 \(byte at offset 9\)$"):
        policy.load_skips(path)


def test_unknown_environment_and_keys_are_refused(tmp_path: Path) -> None:
    reason = "a reason long enough to be a real one"
    path = write(
        tmp_path,
        f"- check: CKV_AWS_1\n  resources: ['*']\n  environments: [qa]\n  reason: {reason}\n",
    )
    with pytest.raises(GitopsError, match="environments: unknown qa"):
        policy.load_skips(path)
    path = write(tmp_path, f"- check: CKV_AWS_1\n  resource: ['*']\n  reason: {reason}\n")
    with pytest.raises(GitopsError, match="skip 1"):
        policy.load_skips(path)


def test_skips_apply_by_check_path_and_environment() -> None:
    skip = policy.Skip(
        check="CKV_AWS_150",
        resources=("load-balancer/*",),
        environments=("dev",),
        reason="deletion protection is a production setting",
    )
    findings = [
        finding("CKV_AWS_150", "load-balancer/alb", "dev"),
        finding("CKV_AWS_150", "load-balancer/alb", "prod"),
        finding("CKV_AWS_150", "network/vpc", "dev"),
        finding("CKV_AWS_1", "load-balancer/alb", "dev"),
        finding("CKV_AWS_150", "load-balancer/alb", None),
    ]
    statuses = [f.status for f in policy.apply_skips(findings, [skip])]
    assert statuses == ["skipped", "failed", "failed", "failed", "failed"]


def test_identify_restores_the_type_checkov_drops() -> None:
    stack = {
        "resource": {
            "aws_api_gateway_stage": {
                "api_stage_9CA2AE48": {
                    "//": {"metadata": {"path": "fraud-detection-dev/api/stage"}}
                }
            }
        }
    }
    record = {
        "check_id": "CKV_AWS_120",
        "check_name": "caching",
        "resource": "resource.api_stage_9CA2AE48",
        "file_line_range": [10, 20],
    }
    found = policy.identify(record, "failed", policy.resource_index(stack), Path("x"), "dev")
    assert found.resource == "aws_api_gateway_stage.api_stage_9CA2AE48"
    assert found.construct_path == "api/stage"
    assert found.lines == (10, 20)


def test_checkov_output_with_several_documents() -> None:
    text = '{"check_type": "a"}\n{"check_type": "b"}\n[{"check_type": "c"}]'
    assert [d["check_type"] for d in policy._json_documents(text)] == ["a", "b", "c"]
    with pytest.raises(GitopsError, match="no JSON report"):
        policy._json_documents("Traceback: boom")


def test_stack_environment_from_metadata() -> None:
    assert (
        policy.stack_environment({"//": {"metadata": {"stackName": "fraud-detection-prod"}}})
        == "prod"
    )
    assert policy.stack_environment({"//": {"metadata": {"stackName": "other"}}}) is None
