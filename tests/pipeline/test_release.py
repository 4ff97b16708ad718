"""`gitops release` as release.yml runs it: the release section only, validated, refusals in
one line, and the pull request opened on the GitHub stand-in."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from gitops.github.standin import GitHubStandIn

from infra.environments import DEFAULT_ENVIRONMENTS_DIR, load_environment
from tests.helpers import gitops_in_process

DIGEST = "sha256:9f2c" + "ab" * 30
REFUSED_TOKEN = "not-the-stand-ins"  # pragma: allowlist secret


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    folder = tmp_path / "environments"
    shutil.copytree(DEFAULT_ENVIRONMENTS_DIR, folder)
    return folder


def run(*args: str, environments: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITOPS_ENVIRONMENTS_DIR": str(environments), **extra}
    return gitops_in_process(args, env)


def test_release_writes_only_the_release_section_and_keeps_comments(environments: Path) -> None:
    before = (environments / "dev.yaml").read_text()
    result = run("release", "dev", "--image-digest", DIGEST, "--app-version", "1.5.0",
                 environments=environments)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "branch: release/dev/1.5.0-9f2cabababab" in result.stdout
    after = (environments / "dev.yaml").read_text()
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert [new.strip() for _, new in changed] == [
        f'image_digest: "{DIGEST}"',
        'app_version: "1.5.0"',
    ]
    assert "# Travels with a release" in after
    release = load_environment("dev", environments).release
    assert (release.image_digest, release.app_version, release.log_level) == (
        DIGEST,
        "1.5.0",
        "INFO",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("dev", "--image-digest", "sha256:9F2C"), "--image-digest 'sha256:9F2C' is malformed"),
        (("qa", "--image-digest", DIGEST), "unknown environment 'qa'"),
        (("dev", "--image-digest", DIGEST, "--app-version", "v2"), "not a semantic version"),
        (("dev", "--image-digest", DIGEST + "\n"), "--image-digest 'sha256:9f2c"),
        (("dev", "--image-digest", DIGEST, "--app-version", "1.5.0\n"), "not a semantic"),
        (("dev", "--image-digest", DIGEST, "--app-version", "01.5.0"), "not a semantic"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_file(environments: Path, args, message) -> None:
    before = (environments / "dev.yaml").read_bytes()
    result = run("release", *args, environments=environments)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert (environments / "dev.yaml").read_bytes() == before
    assert sorted(p.name for p in environments.iterdir()) == sorted(
        p.name for p in DEFAULT_ENVIRONMENTS_DIR.iterdir()
    )  # no temporary file left behind


def test_a_body_file_that_cannot_be_written_is_refused_before_the_file_changes(
    environments: Path, tmp_path: Path
) -> None:
    """Checked first: writing it after the edit would leave the file changed and the run red."""
    before = (environments / "dev.yaml").read_bytes()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for body, said in ((tmp_path, "is a folder"), (blocker / "body.md", "cannot write in")):
        for command in (("release", "dev", "--image-digest", DIGEST),
                        ("promote", "--from", "dev", "--to", "staging")):  # fmt: skip
            result = run(*command, "--pr-body-file", str(body), environments=environments)
            assert result.returncode == 2, result.stderr
            (line,) = result.stderr.strip().splitlines()
            assert f"--pr-body-file {body}: {said}" in line
    assert (environments / "dev.yaml").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "environments"]


def test_nothing_differs_is_refused(environments: Path) -> None:
    current = load_environment("dev", environments).release.image_digest
    result = run("release", "dev", "--image-digest", current, environments=environments)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"gitops release: error: nothing to release: dev already runs 1.4.0 ({current})"
    )


def test_a_release_the_schema_refuses_leaves_the_file(environments: Path) -> None:
    dev = environments / "dev.yaml"
    data = yaml.safe_load(dev.read_text())
    assert data["release"]["log_level"] == "INFO"
    dev.write_text(dev.read_text().replace("log_level: INFO", "log_level: LOUD"))
    before = dev.read_bytes()
    result = run("release", "dev", "--image-digest", DIGEST, environments=environments)
    assert result.returncode != 0
    assert "release.log_level" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert dev.read_bytes() == before


def test_open_pr_pushes_the_release_branch_and_opens_the_pull_request(environments) -> None:
    with GitHubStandIn() as github:
        github.add_file("environments/dev.yaml", (environments / "dev.yaml").read_text())
        result = run(
            "release", "dev", "--image-digest", DIGEST, "--app-version", "1.5.0", "--open-pr",
            environments=environments, GITHUB_REPOSITORY=github.repository,
            GITHUB_TOKEN=github.token, GITHUB_API_URL=github.url, GITHUB_REF_NAME="main",
            GITHUB_SHA=github.branch_sha("main"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (pull,) = github.pull_requests()
        assert pull["head"]["ref"] == "release/dev/1.5.0-9f2cabababab"
        assert pull["title"] == "Release 1.5.0 (9f2cabababab) to dev"
        assert "CodeDeployDefault.ECSAllAtOnce" in pull["body"]
        assert DIGEST in github.file_text("environments/dev.yaml", pull["head"]["ref"])
        assert DIGEST not in github.file_text("environments/dev.yaml", "main")


def test_open_pr_keeps_crlf_and_branches_from_the_commit_read(environments: Path) -> None:
    dev = environments / "dev.yaml"
    crlf = dev.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    dev.write_bytes(crlf)
    with GitHubStandIn() as github:
        github.add_file("environments/dev.yaml", crlf.decode())
        read_from = github.branch_sha("main")
        github.add_file("environments/staging.yaml", "merged meanwhile\n")  # main moves on
        result = run(
            "release", "dev", "--image-digest", DIGEST, "--app-version", "1.5.0", "--open-pr",
            environments=environments, GITHUB_REPOSITORY=github.repository,
            GITHUB_TOKEN=github.token, GITHUB_API_URL=github.url, GITHUB_REF_NAME="main",
            GITHUB_SHA=read_from,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (pull,) = github.pull_requests()
        pushed = github.file_text("environments/dev.yaml", pull["head"]["ref"])
        assert pushed is not None and pushed.encode() == dev.read_bytes()
        assert pushed.count("\r\n") == pushed.count("\n"), "every line still ends in CRLF"
        (ref,) = [r for r in github.requests if r.path.endswith("/git/refs")]
        assert ref.body["sha"] == read_from, "the branch starts where the file was read"


def test_a_pull_request_github_refuses_leaves_the_files_as_they_were(environments) -> None:
    """The edit is undone when GitHub fails after it: a re-run starts from the same file,
    instead of finding nothing to release."""
    before = (environments / "dev.yaml").read_bytes()
    with GitHubStandIn() as github:
        sha = github.branch_sha("main")  # environments/dev.yaml is not on main: pushing fails
        for _ in range(2):
            result = run(
                "release", "dev", "--image-digest", DIGEST, "--open-pr", environments=environments,
                GITHUB_REPOSITORY=github.repository, GITHUB_TOKEN=REFUSED_TOKEN,
                GITHUB_API_URL=github.url, GITHUB_REF_NAME="main", GITHUB_SHA=sha,
            )  # fmt: skip
            assert result.returncode != 0
            assert "nothing to release" not in result.stderr
            assert (environments / "dev.yaml").read_bytes() == before


def test_open_pr_outside_actions_and_outside_git_says_what_is_missing(environments) -> None:
    before = (environments / "dev.yaml").read_bytes()
    result = run(
        "release", "dev", "--image-digest", DIGEST, "--open-pr", environments=environments,
        GITHUB_REPOSITORY="acme/fraud-detection", GITHUB_TOKEN="t", GITHUB_SHA="",
    )  # fmt: skip
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot tell which commit the environment files were read from" in result.stderr
    assert (environments / "dev.yaml").read_bytes() == before, "refused before any change"
