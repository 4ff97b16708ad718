"""The lazy provider package: few submodules load, and the output equals the eager import's."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import lazy_provider

SYNTH_ALL = (
    "import sys; from pathlib import Path; {prelude}"
    "from infra.app import synthesize; from infra.environments import load_environments; "
    "synthesize(load_environments(), Path(sys.argv[1]))"
)


def test_provider_package_is_the_lazy_stand_in() -> None:
    package = sys.modules[lazy_provider.PACKAGE]
    assert isinstance(package, lazy_provider._LazyProviderPackage)
    assert lazy_provider.install() is False, "a second install must be a no-op"


def test_only_the_used_submodules_are_loaded(stacks: dict[str, Any]) -> None:
    loaded = lazy_provider.loaded_submodules()
    assert "vpc" in loaded and "provider" in loaded
    assert "sagemaker_domain" not in loaded
    assert len(loaded) < 100, f"{len(loaded)} submodules loaded: the lazy package is not in use"


def test_submodules_are_reachable_as_attributes() -> None:
    import cdktf_cdktf_provider_aws

    assert cdktf_cdktf_provider_aws.vpc.Vpc.__name__ == "Vpc"
    with pytest.raises(AttributeError, match="no submodule 'not_a_resource'"):
        _ = cdktf_cdktf_provider_aws.not_a_resource


@pytest.mark.slow
def test_lazy_and_eager_imports_synthesize_identical_json(tmp_path: Path) -> None:
    """Loads the whole provider package once (about 20 s) to prove the shortcut changes nothing."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    eager, lazy = tmp_path / "eager", tmp_path / "lazy"
    for outdir, prelude in ((eager, "import cdktf_cdktf_provider_aws; "), (lazy, "")):
        subprocess.run(
            [sys.executable, "-c", SYNTH_ALL.format(prelude=prelude), str(outdir)],
            check=True,
            env=env,
            capture_output=True,
        )
    eager_files = sorted(p.relative_to(eager) for p in eager.rglob("cdk.tf.json"))
    lazy_files = sorted(p.relative_to(lazy) for p in lazy.rglob("cdk.tf.json"))
    assert eager_files == lazy_files and len(eager_files) == 4
    for relative in eager_files:
        assert filecmp.cmp(eager / relative, lazy / relative, shallow=False), relative
