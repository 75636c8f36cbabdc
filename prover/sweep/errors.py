"""Errors of a sweep that end it, each with a message a user can act on."""

from __future__ import annotations

from search.errors import ProverError


class WorkerStartError(ProverError):
    """No search worker could be started (its construction fails, or the cluster has no room for one):
    every task would fail the same way, so the sweep stops."""


class ErroredAttemptsError(ProverError):
    """A sweep run inside a larger run (an expert-iteration round) left attempts that ended in errors (a
    worker that kept dying, an endpoint that stayed down): the round's stage is not done, so that a rerun
    runs those attempts again instead of building on a partial sweep."""

    def __init__(self, folder: str, errors: int) -> None:
        super().__init__(f"the sweep in {folder} left {errors} theorem(s) whose last attempt ended in an "
                         "error (see its report.md): rerun to search them again")
        self.folder, self.errors = folder, errors


def require_no_errors(summary_errors: int, folder: str) -> None:
    """Raise ``ErroredAttemptsError`` when a sweep's summary counts theorems that ended in errors."""
    if summary_errors:
        raise ErroredAttemptsError(folder, summary_errors)
