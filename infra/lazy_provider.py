"""Load only the AWS provider submodules the stack uses.

`cdktf_cdktf_provider_aws/__init__.py` imports all ~2,200 resource modules, which costs about
20 s and 600 MB before the first resource is built. Each resource module needs nothing from that
`__init__` but the package's `_jsii` module (which loads the jsii assembly), so a stand-in
package object whose `__path__` points at the real directory lets Python import submodules such as
`cdktf_cdktf_provider_aws.vpc` on their own. Synthesized JSON is byte-identical to the eager
import (tests/unit/test_lazy_provider.py compares them).

The node half: the jsii runtime's node process loads the provider's `lib/index.js`, which
requires all 2,135 resource modules (about 6 s). `install()` also puts `lazy_provider_index.js`
in `NODE_OPTIONS` as a preload, which turns that index into getters, so node too compiles only
the modules the stack uses.

`install()` must run before anything imports the provider package or starts the jsii runtime;
`infra/__init__.py` calls it. If the real package was already imported eagerly, it does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

PACKAGE = "cdktf_cdktf_provider_aws"
NODE_PRELOAD = Path(__file__).with_name("lazy_provider_index.js")


class _LazyProviderPackage(types.ModuleType):
    """Stand-in for the provider package: submodules import on first attribute access."""

    def __getattr__(self, name: str) -> types.ModuleType:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{PACKAGE}.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"{PACKAGE}.{name}":
                raise AttributeError(f"module {PACKAGE!r} has no submodule {name!r}") from None
            raise


def install() -> bool:
    """Register the stand-in package; True if installed now, False if already present."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{PACKAGE} is not installed; run `make install`", name=PACKAGE)
    package = _LazyProviderPackage(PACKAGE, "AWS provider bindings, submodules loaded on demand")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    _preload_into_node()
    return True


def _preload_into_node() -> None:
    """Add the lazy index loader to NODE_OPTIONS, which the jsii runtime's node inherits.

    Node reads a double-quoted value there with backslash escapes, so a folder name with a
    quote or a backslash is escaped; without the file (an install that left it out) node
    would refuse to start at all, so then nothing is added.
    """
    if not NODE_PRELOAD.is_file():
        return
    quoted = str(NODE_PRELOAD).replace("\\", "\\\\").replace('"', '\\"')
    preload = f'--require "{quoted}"'
    options = os.environ.get("NODE_OPTIONS", "")
    if preload not in options:
        os.environ["NODE_OPTIONS"] = f"{options} {preload}".strip()


def loaded_submodules() -> list[str]:
    """Names of the provider submodules imported so far (for tests and the benchmark)."""
    prefix = f"{PACKAGE}."
    return sorted(
        name.removeprefix(prefix)
        for name in sys.modules
        if name.startswith(prefix) and name.count(".") == 1
    )
