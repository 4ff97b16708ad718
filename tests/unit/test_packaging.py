"""pyproject.toml names every package, so a wheel holds all of the code and the node preload."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_and_nothing_else() -> None:
    settings = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = set()
    for name, folder in settings["package-dir"].items():
        root = REPO_ROOT / folder
        on_disk |= {
            ".".join((name, *init.parent.relative_to(root).parts))
            for init in root.rglob("__init__.py")
        }
    assert sorted(settings["packages"]) == sorted(on_disk)


def test_the_node_preload_ships_with_infra() -> None:
    settings = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    (pattern,) = settings["package-data"]["infra"]
    assert (REPO_ROOT / "infra" / pattern).is_file()
