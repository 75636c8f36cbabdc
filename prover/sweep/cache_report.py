"""The shared proof cache's statistics for a sweep's report: live from the cache actor when this run had
one, else read from the journal in the results folder (``prover report OUT``, or a rerun with nothing
left to run), plus what the searches got from it (their ``cache_hits`` and ``cache_skips``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def journal_stats(folder: Path) -> dict[str, Any] | None:
    """``proofs``, ``failures`` and ``entries`` of the journal in ``folder`` (``None``: no journal)."""
    from prover.sweep.shared_cache import JOURNAL, JournaledProofCache

    path = folder / JOURNAL
    if not path.is_file():
        return None
    stats = JournaledProofCache.read(path).stats_dict()
    return {key: stats[key] for key in ("proofs", "failures", "entries")} | {"source": "journal"}


def cache_summary(folder: Path, records: Sequence[dict[str, Any]],
                  live: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The report's ``cache`` entry: ``live`` (the actor's statistics) or the journal's, with the hits
    and skips the searches recorded; ``None`` when the sweep has no cache."""
    stats = live if live is not None else journal_stats(folder)
    if stats is None:
        return None
    runs = [record.get("stats") or {} for record in records]
    return stats | {"search_hits": sum(run.get("cache_hits", 0) for run in runs),
                    "search_skips": sum(run.get("cache_skips", 0) for run in runs)}
