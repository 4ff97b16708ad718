"""The Terraform CLI configuration: mirror when configured or found, registry otherwise."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from gitops.errors import GitopsError
from gitops.terraform import runner as terraform

from infra.versions import AWS_PROVIDER_VERSION


def make_mirror(root: Path) -> Path:
    provider_dir = (
        root / terraform.PROVIDER_ADDRESS / AWS_PROVIDER_VERSION / terraform.platform_dir()
    )
    provider_dir.mkdir(parents=True)
    (provider_dir / f"terraform-provider-aws_v{AWS_PROVIDER_VERSION}_x5").write_text("")
    return root


def test_configured_mirror_wins(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "mirror")
    assert terraform.find_mirror({"GITOPS_PROVIDER_MIRROR": str(mirror)}) == mirror


def test_configured_mirror_must_hold_the_provider(tmp_path: Path) -> None:
    with pytest.raises(
        GitopsError, match=f"no registry.terraform.io/hashicorp/aws {AWS_PROVIDER_VERSION}"
    ):
        terraform.find_mirror({"GITOPS_PROVIDER_MIRROR": str(tmp_path)})


def test_first_known_mirror_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty, second = tmp_path / "empty", make_mirror(tmp_path / "second")
    monkeypatch.setattr(terraform, "KNOWN_MIRROR_DIRS", (str(empty), str(second)))
    assert terraform.find_mirror({}) == second


def test_no_mirror_means_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terraform, "KNOWN_MIRROR_DIRS", (str(tmp_path),))
    assert terraform.find_mirror({}) is None
    text = terraform.render_cli_config(None, tmp_path / "cache")
    assert "direct {}" in text and "filesystem_mirror" not in text
    assert f'plugin_cache_dir = "{tmp_path / "cache"}"' in text


def test_mirror_config_excludes_aws_from_the_registry(tmp_path: Path) -> None:
    text = terraform.render_cli_config(tmp_path, tmp_path / "cache")
    assert f'path    = "{tmp_path}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_prepare_writes_config_and_respects_a_users_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path / "work"))
    path = os.environ["PATH"]  # wherever this machine's terraform is (setup-terraform's, ...)
    runner = terraform.prepare({"PATH": path})
    written = Path(runner.environ["TF_CLI_CONFIG_FILE"])
    assert written == tmp_path / "work" / "terraform.rc" and written.is_file()

    own = tmp_path / "mine.rc"
    own.write_text("# mine\n")
    runner = terraform.prepare({"PATH": path, "TF_CLI_CONFIG_FILE": str(own)})
    assert runner.environ["TF_CLI_CONFIG_FILE"] == str(own)


def test_last_error_line_reads_terraform_diagnostics() -> None:
    output = "\n╷\n│ Error: Unsupported argument\n│\n│   on cdk.tf.json line 3\n╵\n"
    assert terraform.last_error_line(output) == "Unsupported argument"


def test_no_test_writes_into_the_checkouts_work_dir() -> None:
    """The session's GITOPS_WORK_DIR applies to every test, whichever folder runs alone."""
    from gitops.paths import work_dir

    from infra.config import REPO_ROOT

    assert work_dir() != REPO_ROOT / ".gitops"
    assert os.environ["GITOPS_WORK_DIR"] == str(work_dir())


def _lock_is_free(lock_file: Path, mode: int = fcntl.LOCK_EX) -> bool:
    """Whether another process could take the cache lock now, exclusively or shared (`mode`;
    flock is per open file)."""
    with open(lock_file, "a") as handle:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_an_init_that_may_fill_the_plugin_cache_holds_its_lock(tmp_path: Path) -> None:
    cache = tmp_path / "plugin-cache"
    cache.mkdir()
    runner = terraform.TerraformRunner(Path("terraform"), {}, cache)
    lock_file = tmp_path / "plugin-cache.lock"
    with runner.filling_cache():
        assert not _lock_is_free(lock_file), "a cold cache is filled by one init at a time"
        assert not _lock_is_free(lock_file, fcntl.LOCK_SH), "and nobody links a half copy"
    assert _lock_is_free(lock_file)

    provider_dir = cache / terraform.PROVIDER_ADDRESS / AWS_PROVIDER_VERSION
    (provider_dir / terraform.platform_dir()).mkdir(parents=True)
    (provider_dir / terraform.platform_dir() / "terraform-provider-aws_v5").write_text("")
    with runner.filling_cache():
        assert _lock_is_free(lock_file, fcntl.LOCK_SH), "a filled cache is only read: in parallel"
        assert not _lock_is_free(lock_file), "but never while an init fills it"


REQUIRES_AWS = (
    "terraform {\n  required_providers {\n"
    f'    aws = {{ source = "hashicorp/aws", version = "{AWS_PROVIDER_VERSION}" }}\n'
    "  }\n}\n"
)


@pytest.mark.slow
def test_a_stack_with_no_lock_file_links_the_filled_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Terraform 1.4+ installs into the cache again for a stack with no lock file unless told
    not to: 700 MB copied over the binary other stacks run from, which failed concurrent
    validates. With the configuration gitops writes, the second stack only links."""
    monkeypatch.setenv("GITOPS_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    runner = terraform.prepare()
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.tf").write_text(REQUIRES_AWS)
    assert runner.run(["init", "-backend=false"], tmp_path / "first").returncode == 0
    assert runner.plugin_cache is not None
    # The cache's entry: a copy of the provider, or a symlink to an unpacked mirror's folder
    address, platform = terraform.PROVIDER_ADDRESS, terraform.platform_dir()
    entry = runner.plugin_cache / address / AWS_PROVIDER_VERSION / platform
    assert runner.cache_holds_provider()
    before = (entry.lstat().st_ino, entry.lstat().st_mtime_ns)
    second = runner.run(["init", "-backend=false"], tmp_path / "second")
    assert second.returncode == 0, second.stderr
    assert (entry.lstat().st_ino, entry.lstat().st_mtime_ns) == before, "the cache was rewritten"
    assert "h1:" in (tmp_path / "second" / ".terraform.lock.hcl").read_text()
