"""`gitops promote`: only the release moves, one step forward, and the file lands whole or not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import gitops.pipeline.promote as promote_module
import pytest
from gitops.errors import GitopsError, UsageError
from gitops.pipeline.promote import RELEASE_FIELDS, edit_release_block, plan_promotion, promote

from infra.config import ConfigError, parse_environment
from infra.environments import DEFAULT_ENVIRONMENTS_DIR, load_environment
from infra.release_config import ReleaseConfig

SHIPPED_DIGEST = load_environment("dev", DEFAULT_ENVIRONMENTS_DIR).release.image_digest
NEW_DIGEST = "sha256:" + "ab12cd34" * 8
NEW_VERSION = "1.5.0"


@pytest.fixture
def environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped environment files in tmp_path, with dev carrying a new release."""
    for shipped in DEFAULT_ENVIRONMENTS_DIR.glob("*.yaml"):
        shutil.copy(shipped, tmp_path / shipped.name)
    monkeypatch.setenv("GITOPS_ENVIRONMENTS_DIR", str(tmp_path))
    dev = tmp_path / "dev.yaml"
    text = dev.read_text()
    assert SHIPPED_DIGEST in text and 'app_version: "1.4.0"' in text
    dev.write_text(text.replace(SHIPPED_DIGEST, NEW_DIGEST).replace('"1.4.0"', f'"{NEW_VERSION}"'))
    return tmp_path


def usage_error(from_env: str, to_env: str) -> str:
    with pytest.raises(UsageError) as caught:
        promote(from_env, to_env)
    message = str(caught.value)
    assert "\n" not in message, "refusals are one line"
    return message


def test_release_fields_come_from_the_schema() -> None:
    assert tuple(ReleaseConfig.model_fields) == RELEASE_FIELDS
    assert {"image_digest", "app_version", "log_level"} <= set(RELEASE_FIELDS)


def test_dev_to_staging_changes_only_the_release_lines(environments: Path) -> None:
    staging = environments / "staging.yaml"
    before = staging.read_bytes().splitlines(keepends=True)

    result = promote("dev", "staging")

    after = staging.read_bytes().splitlines(keepends=True)
    assert len(after) == len(before)
    changed = {n for n, (old, new) in enumerate(zip(before, after, strict=True)) if old != new}
    assert [after[n] for n in sorted(changed)] == [
        f'  image_digest: "{NEW_DIGEST}"\n'.encode(),
        f'  app_version: "{NEW_VERSION}"\n'.encode(),
    ]
    assert b"  # Travels with a release: `gitops promote` copies this section" in b"".join(after)
    assert after[0].startswith(b"# Staging: production-shaped")

    assert result.from_env == "dev" and result.to_env == "staging"
    assert result.target_path == staging
    assert result.changes == (
        ("image_digest", SHIPPED_DIGEST, NEW_DIGEST),
        ("app_version", "1.4.0", NEW_VERSION),
    )
    assert result.changed_fields == ("image_digest", "app_version")

    promoted = load_environment("staging")
    assert promoted.release == load_environment("dev").release
    assert promoted.account_id == "222222222222"
    assert not list(environments.glob(".*")), "no temporary file is left behind"


def test_every_release_field_travels_and_nothing_else(environments: Path) -> None:
    dev = environments / "dev.yaml"
    dev.write_text(dev.read_text().replace("log_level: INFO", "log_level: WARNING"))

    result = promote("dev", "staging")

    assert result.changed_fields == ("image_digest", "app_version", "log_level")
    staging, source = load_environment("staging"), load_environment("dev")
    assert staging.release == source.release
    assert staging.network != source.network, "only the release section travels"
    assert "  log_level: WARNING\n" in (environments / "staging.yaml").read_text()


def test_plan_promotion_does_not_write(environments: Path) -> None:
    staging = environments / "staging.yaml"
    before = staging.read_bytes()

    planned = plan_promotion("dev", "staging")

    assert staging.read_bytes() == before
    assert planned == promote("dev", "staging")


def test_explicit_directory_wins_over_the_environment_variable(
    environments: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for name in ("dev.yaml", "staging.yaml"):
        shutil.copy(environments / name, elsewhere / name)

    result = promote("dev", "staging", elsewhere)

    assert result.target_path == elsewhere / "staging.yaml"
    assert load_environment("staging", elsewhere).release.app_version == NEW_VERSION
    assert load_environment("staging").release.app_version == "1.4.0"


def test_crlf_line_endings_and_trailing_comments_survive(environments: Path) -> None:
    staging = environments / "staging.yaml"
    text = staging.read_text().replace("log_level: INFO", "log_level: INFO  # noisy at DEBUG")
    staging.write_bytes(text.replace("\n", "\r\n").encode())
    dev = environments / "dev.yaml"
    dev.write_text(dev.read_text().replace("log_level: INFO", "log_level: ERROR"))

    promote("dev", "staging")

    after = staging.read_bytes()
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert b"  log_level: ERROR  # noisy at DEBUG\r\n" in after
    assert after.replace(b"\r\n", b"\n").decode().count("\n") == text.count("\n")


def test_staging_to_prod_is_the_next_step(environments: Path) -> None:
    promote("dev", "staging")
    result = promote("staging", "prod")
    assert load_environment("prod").release.image_digest == NEW_DIGEST
    assert result.changed_fields == ("image_digest", "app_version")


@pytest.mark.parametrize(
    ("from_env", "to_env", "message"),
    [
        (
            "qa",
            "staging",
            "unknown environment 'qa': promotion runs dev -> staging -> prod (environments/*.yaml)",
        ),
        (
            "dev",
            "Prod",
            "unknown environment 'Prod': promotion runs dev -> staging -> prod"
            " (environments/*.yaml)",
        ),
        ("staging", "staging", "cannot promote staging to itself: --from and --to must differ"),
        (
            "dev",
            "prod",
            "cannot promote dev straight to prod: a release reaches prod through staging"
            " (promote dev -> staging first)",
        ),
        (
            "prod",
            "staging",
            "cannot promote prod back to staging: promotion only goes forward"
            " (dev -> staging -> prod)",
        ),
        (
            "staging",
            "dev",
            "cannot promote staging back to dev: promotion only goes forward"
            " (dev -> staging -> prod)",
        ),
        (
            "dev",
            "local",
            "local is not part of promotion (dev -> staging -> prod); edit the release: section"
            " of local.yaml by hand",
        ),
        (
            "local",
            "dev",
            "local is not part of promotion (dev -> staging -> prod); edit the release: section"
            " of local.yaml by hand",
        ),
    ],
)
def test_refusals_name_what_is_wrong(
    environments: Path, from_env: str, to_env: str, message: str
) -> None:
    files = {path.name: path.read_bytes() for path in environments.iterdir()}
    assert usage_error(from_env, to_env) == message
    assert {path.name: path.read_bytes() for path in environments.iterdir()} == files


def test_nothing_differs_is_refused(environments: Path) -> None:
    assert usage_error("staging", "prod") == (
        "nothing to promote: prod already runs staging's release 1.4.0 (83b48c81)"
    )


def test_promoting_twice_refuses_the_second_time(environments: Path) -> None:
    promote("dev", "staging")
    staging = (environments / "staging.yaml").read_bytes()
    assert usage_error("dev", "staging") == (
        f"nothing to promote: staging already runs dev's release {NEW_VERSION} (ab12cd34)"
    )
    assert (environments / "staging.yaml").read_bytes() == staging


def test_invalid_source_file_is_a_usage_error_naming_the_field(environments: Path) -> None:
    dev = environments / "dev.yaml"
    dev.write_text(dev.read_text().replace("log_level: INFO", "log_level: LOUD"))
    message = usage_error("dev", "staging")
    assert "dev.yaml: release.log_level:" in message and "'LOUD'" in message


def test_an_edit_the_schema_rejects_leaves_the_target_untouched(
    environments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema check of the written candidate is the last gate before the rename.

    Both files pass the same schema, so a real release cannot fail in the target; stand in
    for a stricter future rule by rejecting the candidate's digest.
    """

    def stricter(name: str, data: object, source: str):
        config = parse_environment(name, data, source)
        if config.release.image_digest == NEW_DIGEST:
            raise ConfigError(f"{source}: release.image_digest: not signed (got {NEW_DIGEST!r})")
        return config

    monkeypatch.setattr(promote_module, "parse_environment", stricter)
    staging = environments / "staging.yaml"
    before = staging.read_bytes()

    with pytest.raises(GitopsError) as caught:
        promote("dev", "staging")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{staging}: release.image_digest: not signed")
    assert message.endswith("(after promotion; file unchanged)")
    assert staging.read_bytes() == before
    assert not list(environments.glob(".*")), "the temporary file is removed"
    with pytest.raises(GitopsError):
        plan_promotion("dev", "staging")


def test_a_release_block_it_cannot_edit_safely_is_refused(environments: Path) -> None:
    staging = environments / "staging.yaml"
    staging.write_text(
        staging.read_text().replace(
            f'  image_digest: "{SHIPPED_DIGEST}"', f'  image_digest:\n    "{SHIPPED_DIGEST}"'
        )
    )
    assert load_environment("staging").release.image_digest == SHIPPED_DIGEST
    before = staging.read_bytes()

    with pytest.raises(GitopsError) as caught:
        promote("dev", "staging")

    assert re.fullmatch(
        rf"{re.escape(str(staging))}: line \d+: the release: block must be flat `key: value`"
        r" lines for gitops promote to edit it",
        str(caught.value),
    )
    assert staging.read_bytes() == before


def test_pr_body_shows_what_moves(environments: Path) -> None:
    body = plan_promotion("dev", "staging").pr_body()

    assert body.startswith(f"# Promote {NEW_VERSION} (ab12cd34) from dev to staging\n")
    assert "| field | dev now | staging before |" in body
    assert f"| `image_digest` | `{NEW_DIGEST}` | `{SHIPPED_DIGEST}` |" in body
    assert f"| `app_version` | `{NEW_VERSION}` | `1.4.0` |" in body
    assert "log_level" not in body, "unchanged fields are not listed"
    assert "plans `staging`" in body and "merging to `main`" in body


def test_branch_name_is_safe_for_git(environments: Path) -> None:
    result = plan_promotion("dev", "staging")
    assert result.branch_name() == f"promote/staging/{NEW_VERSION}-ab12cd34"

    odd = ReleaseConfig(image_digest=NEW_DIGEST, app_version="2.0.0+build..7.", log_level="INFO")
    branch = type(result)("dev", "staging", result.target_path, odd, result.changes).branch_name()
    assert branch == "promote/staging/2.0.0-build.7-ab12cd34"
    assert re.fullmatch(r"promote/(staging|prod)/[0-9A-Za-z][0-9A-Za-z._-]*[0-9A-Za-z]", branch)
    assert ".." not in branch and not branch.endswith((".lock", "."))


@pytest.mark.parametrize(
    ("line", "value", "edited"),
    [
        ("  app_version: '1.4.0'\n", "1.5.0", "  app_version: '1.5.0'\n"),
        ("  app_version: 1.4.0 # plain\n", "1.5", '  app_version: "1.5" # plain\n'),
        ("  log_level:   INFO\n", "DEBUG", "  log_level:   DEBUG\n"),
        (
            '  app_version: "1.4.0"  # "quoted # text"\n',
            "2.0.0",
            '  app_version: "2.0.0"  # "quoted # text"\n',
        ),
    ],
)
def test_edit_keeps_the_quote_style_when_it_reads_back_the_same(
    line: str, value: str, edited: str
) -> None:
    text = f"# head\nrelease:\n{line}\n# next section\nstate: {{}}\n"
    assert edit_release_block(text, {line.split(":")[0].strip(): value}, Path("x.yaml")) == (
        f"# head\nrelease:\n{edited}\n# next section\nstate: {{}}\n"
    )


def test_edit_adds_a_field_the_target_does_not_have_yet() -> None:
    text = "release:\n    # kept\n    log_level: INFO\n\nstate: {}\n"
    assert edit_release_block(text, {"app_version": "1.5.0"}, Path("x.yaml")) == (
        "release:\n    # kept\n    log_level: INFO\n    app_version: 1.5.0\n\nstate: {}\n"
    )
