"""Run the real Terraform binary with a CLI configuration that works offline when it can.

Terraform finds providers through its CLI configuration. This module writes one under
`.gitops/` that
- installs `hashicorp/aws` from a filesystem mirror when one is configured
  (`GITOPS_PROVIDER_MIRROR`) or found in the usual places, and from the registry otherwise;
- shares one plugin cache between all stacks, so four stacks link one provider instead of
  copying 700 MB four times.
A CLI configuration the user already has (`TF_CLI_CONFIG_FILE` naming an existing file) wins:
it is used as it is.

Terraform documents the plugin cache as unsafe for concurrent installs (two cold `init`s at
once failed here with "Failed to install provider"), so an `init` that may fill the cache
holds a lock beside it exclusively; once the provider is in the cache, `init`s take the lock
shared (waiting out a fill still copying) and only link it. Only link: since Terraform 1.4 an
`init` of a stack with no `.terraform.lock.hcl` installs the provider into the cache again
(700 MB copied over the file other stacks run from through their symlinks; a `gitops validate`
of four fresh stacks failed that way under load). The synthesized stacks' lock files are
generated, never committed, so the configuration lets such an `init` link the cached package
and record its checksum (`plugin_cache_may_break_dependency_lock_file`); the cached package
itself was checked when it was installed from the mirror or the registry.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops.errors import GitopsError
from gitops.paths import work_dir
from infra.versions import AWS_PROVIDER_VERSION

PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
MIRROR_VARIABLE = "GITOPS_PROVIDER_MIRROR"
KNOWN_MIRROR_DIRS: tuple[str, ...] = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
"""Searched in order for an unpacked mirror that holds the pinned aws provider."""


def platform_dir() -> str:
    """Terraform's name for this platform, e.g. `linux_amd64`."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def mirror_holds_provider(mirror: Path, version: str = AWS_PROVIDER_VERSION) -> bool:
    provider_dir = mirror / PROVIDER_ADDRESS / version / platform_dir()
    return any(provider_dir.glob("terraform-provider-aws_*"))


def find_mirror(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The filesystem mirror to use: the configured one, else the first one found, else None."""
    configured = environ.get(MIRROR_VARIABLE)
    if configured:
        mirror = Path(configured).expanduser()
        if not mirror_holds_provider(mirror):
            raise GitopsError(
                f"{MIRROR_VARIABLE}={configured}: no {PROVIDER_ADDRESS} {AWS_PROVIDER_VERSION} "
                f"for {platform_dir()} in that mirror"
            )
        return mirror
    for candidate in KNOWN_MIRROR_DIRS:
        mirror = Path(candidate).expanduser()
        if mirror_holds_provider(mirror):
            return mirror
    return None


def render_cli_config(mirror: Path | None, plugin_cache: Path) -> str:
    """HCL of a CLI configuration: the mirror for the aws provider (if any), the registry else."""
    lines = [
        "# Written by gitops (scripts/gitops/terraform/runner.py); regenerated on every run.",
        f'plugin_cache_dir = "{plugin_cache}"',
        "plugin_cache_may_break_dependency_lock_file = true",
        "provider_installation {",
    ]
    if mirror is not None:
        lines += [
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            f'    include = ["{PROVIDER_ADDRESS}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{PROVIDER_ADDRESS}"]',
            "  }",
        ]
    else:
        lines += ["  direct {}"]
    lines += ["}", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class TerraformRunner:
    """The terraform binary plus the environment every invocation gets."""

    binary: Path
    environ: Mapping[str, str]
    plugin_cache: Path | None = None
    """The shared plugin cache this runner's CLI configuration names (None: the user's own)."""

    def run(
        self, args: Sequence[str], cwd: Path, *, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        guard = self.filling_cache() if args[:1] == ["init"] else contextlib.nullcontext()
        with guard:
            return subprocess.run(
                [str(self.binary), *args],
                cwd=cwd,
                env=dict(self.environ),
                text=True,
                capture_output=capture,
                check=False,
            )

    def cache_holds_provider(self) -> bool:
        if self.plugin_cache is None:
            return True  # not ours to guard
        provider_dir = self.plugin_cache / PROVIDER_ADDRESS / AWS_PROVIDER_VERSION / platform_dir()
        return any(provider_dir.glob("terraform-provider-aws_*"))

    @contextlib.contextmanager
    def filling_cache(self) -> Iterator[None]:
        """Hold the cache's lock (across processes) for an init: exclusive while the init may
        install into the cache, shared once the provider is there (a provider file that is
        still being copied belongs to an exclusive holder, so a shared taker waits for it)."""
        if self.plugin_cache is None:
            yield
            return
        mode = fcntl.LOCK_SH if self.cache_holds_provider() else fcntl.LOCK_EX
        with open(self.plugin_cache.with_name("plugin-cache.lock"), "a") as lock:
            fcntl.flock(lock, mode)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def find_terraform(environ: Mapping[str, str] = os.environ) -> Path:
    found = shutil.which("terraform", path=environ.get("PATH"))
    if not found:
        raise GitopsError(
            "terraform: not found on PATH; install Terraform 1.11 (https://developer.hashicorp.com/"
            "terraform/install) or put it on PATH"
        )
    return Path(found)


def prepare(environ: Mapping[str, str] = os.environ) -> TerraformRunner:
    """Find terraform and make sure it has a CLI configuration; nothing runs yet."""
    binary = find_terraform(environ)
    env = dict(environ)
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("TF_INPUT", "0")
    user_config = environ.get("TF_CLI_CONFIG_FILE")
    if user_config and Path(user_config).is_file():
        return TerraformRunner(binary, env)
    directory = work_dir()
    plugin_cache = directory / "plugin-cache"
    plugin_cache.mkdir(parents=True, exist_ok=True)
    config_path = directory / "terraform.rc"
    text = render_cli_config(find_mirror(environ), plugin_cache)
    if not config_path.exists() or config_path.read_text() != text:
        temporary = config_path.with_suffix(".rc.tmp")
        temporary.write_text(text)
        os.replace(temporary, config_path)
    env["TF_CLI_CONFIG_FILE"] = str(config_path)
    return TerraformRunner(binary, env, plugin_cache)


def last_error_line(output: str) -> str:
    """The first `Error:` line Terraform printed (its summary), or the last non-empty line."""
    lines = [line.strip(" │╷╵") for line in output.splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    for line in lines:
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else "no output"


def validate_stack(runner: TerraformRunner, stack_dir: Path) -> None:
    """`terraform init -backend=false` and `terraform validate` in one synthesized stack folder."""
    if not (stack_dir / "cdk.tf.json").is_file():
        raise GitopsError(f"{stack_dir}: no cdk.tf.json; run `gitops synth` first")
    init = runner.run(["init", "-backend=false", "-input=false", "-no-color"], stack_dir)
    if init.returncode != 0:
        raise GitopsError(
            f"{stack_dir.name}: terraform init failed: {last_error_line(init.stdout + init.stderr)}"
        )
    result = runner.run(["validate", "-no-color"], stack_dir)
    if result.returncode != 0:
        raise GitopsError(
            f"{stack_dir.name}: terraform validate failed: "
            f"{last_error_line(result.stdout + result.stderr)}"
        )
