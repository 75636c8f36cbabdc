"""Settings of a benchmark sweep."""

from __future__ import annotations

from dataclasses import dataclass

from search.validation import MAX_SECONDS, Validated, setting


@dataclass(frozen=True, kw_only=True)
class SweepConfig(Validated):
    """Validated settings of ``prover sweep``. The search's own settings live in ``SearchConfig``."""

    config_name = "sweep configuration"

    split: str | None = setting(None, help="only theorems of this split (e.g. test)")
    attempts: int = setting(
        1, min=1, max=1000, help="attempts per theorem; the next one starts only if the last failed")
    workers: int = setting(2, min=1, help="search-worker actors, each with its own sessions")
    worker_cpus: float = setting(1.0, above=0, help="CPUs Ray reserves for each worker")
    address: str | None = setting(
        None, help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    out: str = setting("runs/sweep", nonblank=True, help="results folder; a rerun resumes from it")
    max_retries: int = setting(2, min=0, help="times a theorem is retried when its worker or node dies")
    worker_start_timeout: float = setting(
        300.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for a worker when none is running, e.g. while the cluster has "
             "no free CPUs, before the sweep stops")
    limit: int | None = setting(
        None, min=1, help="run only the first N theorems (a resumed folder's report keeps covering the "
                          "largest N run there)")
    graph_pages: bool = setting(
        True, help="write each theorem's search graph as an explorer page into OUT/graphs/, linked from "
                   "report.md")
    shared_cache: bool = setting(True, help="share proved and failed goals between all searches")
