"""``report_from_folder``: the report of a sweep's results folder from what it holds, without running
anything (the sweep may still be running, or have been stopped)."""

from __future__ import annotations

import logging
from pathlib import Path

from prover.backends import BACKENDS
from prover.sweep.benchmark import load_benchmark
from prover.sweep.beyond_limit import uncounted_results
from prover.sweep.cache_report import cache_summary
from prover.sweep.freshness import current_records
from prover.sweep.manifest import MANIFEST, read_manifest
from prover.sweep.report import SweepSummary, budget_of, report_title, summarise, write_report
from prover.sweep.store import RESULTS_FILE, read_records
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)


def report_from_folder(folder: Path) -> tuple[SweepSummary, dict[str, Path]]:
    """Write the report of the sweep in ``folder`` from what it has finished so far (it may be running,
    or have been stopped); returns the summary and the report's paths. It covers the first ``limit``
    theorems the folder records (``report_limit``); results beyond them (a folder whose limit an older
    version lowered, rows gone from the benchmark) are named in the report and logged, with how to count
    them (``SweepSummary.uncounted``). Raises ``InputError`` for a folder that holds no sweep."""
    manifest_path = folder / MANIFEST
    if not folder.exists():
        raise InputError(f"{folder} does not exist: give the --out folder of a sweep or of `prover train`")
    if not manifest_path.exists():
        raise InputError(f"{folder} holds no sweep (no {MANIFEST}) and no training run (no run.json): give "
                         "the --out folder of a sweep or of `prover train`")
    manifest = read_manifest(manifest_path, ("benchmark",))
    path = Path(manifest["benchmark"])
    if not path.exists():
        raise InputError(f"{folder}: its benchmark {path} is gone")
    backend = BACKENDS.get(manifest.get("backend") or "")
    selected = load_benchmark(path, manifest.get("split"), backend.assistant if backend else None)
    items = selected[: manifest.get("limit")]
    everything = read_records(folder)
    records = current_records([item.theorem for item in items], everything, str(folder))
    attempts = manifest.get("attempts") or max((r["attempt"] for r in records), default=1)
    summary = summarise(items, records, attempts)
    uncounted = uncounted_results(selected, manifest.get("limit"), everything)
    if uncounted:
        logger.warning("%s: %s", folder, uncounted.sentence(RESULTS_FILE))
        summary.uncounted = uncounted
    summary.imports = list(manifest.get("imports") or [])
    summary.cache = cache_summary(folder, records)  # from the journal, as the sweep left it
    summary.budget = budget_of(manifest.get("search") or {}, attempts)
    return summary, write_report(summary, folder, report_title(path, manifest.get("split")))
