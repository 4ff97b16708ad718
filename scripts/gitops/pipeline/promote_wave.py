"""A promotion to a whole wave: one release, every environment of the next wave, one PR.

Each target file is edited and validated by `gitops.pipeline.promote` on its own; this module
decides the targets, validates every candidate before writing any (so a refusal leaves every
file as it was), skips targets that already run the release, and words the one pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops.errors import UsageError
from gitops.pipeline import promote as single
from gitops.pipeline.promotion_path import targets
from infra.release_config import ReleaseConfig


@dataclass(frozen=True)
class WavePromotion:
    from_env: str
    to_env: str
    """The environment named by --to; `results` covers its whole wave unless scoped to it."""
    results: tuple[single.PromotionResult, ...]
    already: tuple[str, ...]
    """Targets that already run the release and are left as they are."""

    @property
    def to_envs(self) -> tuple[str, ...]:
        return tuple(result.to_env for result in self.results)

    @property
    def release(self) -> ReleaseConfig:
        """What every target runs after the promotion (the source's release)."""
        return self.results[0].release

    def branch_name(self) -> str:
        """One branch per release and target wave, named for the environment given as --to."""
        return (
            self.results[0]
            .branch_name()
            .replace(f"promote/{self.results[0].to_env}/", f"promote/{self.to_env}/", 1)
        )

    def pr_title(self) -> str:
        digest = single._short_digest(self.release.image_digest)
        return (
            f"Promote {self.release.app_version} ({digest}) from {self.from_env}"
            f" to {', '.join(self.to_envs)}"
        )

    def pr_body(self) -> str:
        """Each target's table, under one title; the path to deployment is said once."""
        parts = [f"# {self.pr_title()}", ""]
        for result in self.results:
            body = result.pr_body().split("\n")
            parts += [f"## {result.to_env}", "", *body[2:]]
        if self.already:
            parts += [f"Already running this release, unchanged: {', '.join(self.already)}.", ""]
        return "\n".join(parts)

    def files(self) -> dict[str, bytes]:
        """Repository path -> exact bytes of every edited file (the pull request's content):
        read as bytes, so CRLF line endings reach the branch as they are."""
        return {
            single.repository_path(result.target_path): result.target_path.read_bytes()
            for result in self.results
        }


def promote_wave(
    from_env: str,
    to_env: str,
    scope: str = "wave",
    directory: Path | None = None,
    dry_run: bool = False,
) -> WavePromotion:
    """Promote `from_env`'s release to `to_env`'s wave (or to `to_env` alone)."""
    names = targets(from_env, to_env, scope, directory)
    planned: list[single.PromotionResult] = []
    already: list[str] = []
    refusals: list[str] = []
    for name in names:
        try:
            planned.append(single.plan_promotion(from_env, name, directory))
        except UsageError as error:
            if not str(error).startswith("nothing to promote"):
                raise
            already.append(name)
            refusals.append(str(error))
    if not planned:
        if len(refusals) == 1:
            raise UsageError(refusals[0])
        raise UsageError(
            f"nothing to promote: {', '.join(already)} already run {from_env}'s release"
        )
    if not dry_run:
        planned = [single.promote(from_env, result.to_env, directory) for result in planned]
    return WavePromotion(from_env, to_env, tuple(planned), tuple(already))
