"""`gitops check` leaves its findings on the run's page: where code scanning is off (a private
repository without code security) the SARIF upload fails and the job summary is where a
reviewer reads them. checkov itself is replaced by its results here; `test_gate.py` runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitops.cli import build_parser
from gitops.errors import GitopsError
from gitops.policy import gate
from gitops.policy.gate import EnvironmentResult, Finding


def test_the_findings_reach_the_job_summary_and_the_reports(tmp_path, monkeypatch) -> None:
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text("{}")
    failed = Finding(
        environment="dev", stack_file=stack_dir / "cdk.tf.json", check_id="CKV_AWS_18",
        check_name="Ensure the S3 bucket has access logging enabled",
        resource="aws_s3_bucket.assets_1A2B3C4D", construct_path="assets/bucket", status="failed",
    )  # fmt: skip
    result = EnvironmentResult("dev", stack_dir / "cdk.tf.json", [failed])
    monkeypatch.setattr(gate, "evaluate", lambda stack_files, skips: [result])
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reports = tmp_path / "reports"
    args = build_parser().parse_args(
        ["check", "--stack-dir", str(stack_dir), "--report-dir", str(reports)]
    )
    with pytest.raises(GitopsError, match="1 failed check"):
        args.handler(args)
    text = summary.read_text()
    assert text.startswith("### Policy gate\n\n```\ndev: 0 passed, 1 failed, 0 skipped\n")
    assert "  FAILED CKV_AWS_18 Ensure the S3 bucket has access logging enabled:" in text
    assert sorted(path.name for path in Path(reports).iterdir()) == [
        "policy-junit.xml", "policy-summary.txt", "policy.sarif"
    ]  # fmt: skip
