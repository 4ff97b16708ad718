"""The job summary: markdown a workflow step leaves on the run's page (`GITHUB_STEP_SUMMARY`).

Outside Actions (a laptop, the rehearsal without the variable) writing is a no-op, so commands
call `append` unconditionally.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gitops.errors import GitopsError
from gitops.pipeline.environment_plan import EnvironmentPlan
from gitops.pipeline.plan_comment import CommentContext, render

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
STEP_SUMMARY_LIMIT = 1024 * 1024
"""GitHub rejects a step summary over 1 MiB; a longer text is cut with a note, not lost whole."""


def append(markdown: str) -> Path | None:
    """Add `markdown` to this step's summary; the file written, or None outside Actions."""
    target = os.environ.get(SUMMARY_VARIABLE)
    if not target:
        return None
    path = Path(target)
    try:
        used = path.stat().st_size if path.exists() else 0
        room = STEP_SUMMARY_LIMIT - used - 200
        if len(markdown.encode()) > room:
            cut = markdown.encode()[: max(room, 0)].decode(errors="ignore")
            markdown = cut + "\n\n> Cut here: GitHub limits a step summary to 1 MiB.\n"
        with path.open("a", encoding="utf-8") as summary:
            summary.write(markdown.rstrip("\n") + "\n\n")
    except OSError as error:
        raise GitopsError(f"{SUMMARY_VARIABLE} {path}: cannot write ({error.strerror})") from None
    return path


def append_plan(plans: Sequence[EnvironmentPlan], context: CommentContext) -> Path | None:
    """The plans in full (the summary's limit, not a comment's): where the comment points to
    when it had to shorten."""
    return append(render(plans, replace(context, limit=STEP_SUMMARY_LIMIT)))
