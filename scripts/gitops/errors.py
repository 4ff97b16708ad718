"""Failures every `gitops` command reports as one line and a non-zero exit code."""

from __future__ import annotations


class GitopsError(Exception):
    """A failure the user can act on; `str(error)` is the one line printed.

    `exit_code` 2 means bad input (unknown environment, invalid file); 1 means the work failed.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(GitopsError):
    exit_code = 2
