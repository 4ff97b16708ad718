"""Real faults for tests: a `terraform` that fails at a chosen subcommand.

The wrapper runs the real binary for every other subcommand, so the plans, states and locks
around the fault are Terraform's own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FAULT_MESSAGE = "injected fault"


def terraform_failing_at(directory: Path, subcommand: str, *, after: int = 0) -> Path:
    """A `terraform` script in `directory` that fails `subcommand` once `after` calls of it
    have passed through (0: the first call fails); every other call runs the real binary."""
    real = shutil.which("terraform")
    assert real, "terraform must be on PATH for the fault wrapper"
    directory.mkdir(parents=True, exist_ok=True)
    counter = directory / f"{subcommand}.calls"
    wrapper = directory / "terraform"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "{subcommand}" ]; then\n'
        f'  calls=$(cat "{counter}" 2>/dev/null || echo 0)\n'
        f'  echo $((calls + 1)) > "{counter}"\n'
        f'  if [ "$calls" -ge {after} ]; then\n'
        f'    printf "\\nError: {FAULT_MESSAGE} at terraform %s\\n" "$1" >&2\n'
        "    exit 1\n"
        "  fi\n"
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def terraform_printing_garbage_at(directory: Path, subcommand: str) -> Path:
    """A `terraform` script in `directory` whose `subcommand` succeeds but prints no JSON (a
    truncated pipe, a wrapper that logs to stdout); every other call runs the real binary."""
    real = shutil.which("terraform")
    assert real, "terraform must be on PATH for the fault wrapper"
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "terraform"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "{subcommand}" ]; then\n'
        '  echo \'{"format_version": "1.2", "resource_\'\n'
        "  exit 0\n"
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper
