"""Errors of a sweep that end it, each with a message a user can act on."""

from __future__ import annotations

from search.errors import ProverError


class WorkerStartError(ProverError):
    """No search worker could be started (its construction fails, or the cluster has no room for one):
    every task would fail the same way, so the sweep stops."""
