"""The same rows from Lean: a LeanDojo-traced repository (``lean_dojo.TracedRepo``) turned into units.

Each traced file is a unit; each traced theorem with a tactic proof gives one row per traced tactic:
``state_before``/``state_after`` are LeanDojo's pretty-printed states, which are exactly the ``pp`` the
project's Lean backends show a policy (REPL goals joined by blank lines, ``Dojo``'s ``TacticState.pp``).
``no goals`` after a tactic is an empty ``state_after`` and ``closed``. Theorems whose proof holds
``sorry`` are skipped as ``admitted``; term-mode proofs have no tactics (``no-tactics``).

Only the traced objects' documented attributes are used (``TracedRepo.traced_files``,
``TracedFile.path`` / ``get_traced_theorems()``, ``TracedTheorem.theorem.full_name`` / ``start`` /
``get_traced_tactics()``, ``TracedTactic.tactic`` / ``state_before`` / ``state_after`` / ``start``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.runner import TraceSummary, run_counts, summarize
from prover.tracing.schema import StepRow

logger = logging.getLogger(__name__)

NO_GOALS = "no goals"
_SORRY = re.compile(r"(?<![\w.])sorry(?![\w'])")


def dojo_unit(traced_file: Any, *, source: str, trace: str) -> tuple[UnitRecord, list[StepRow]]:
    """The record and rows of one ``lean_dojo.TracedFile``."""
    started = time.monotonic()
    unit = Path(traced_file.path).as_posix()
    rows: list[StepRow] = []
    proofs: list[ProofRecord] = []
    for theorem in traced_file.get_traced_theorems():
        name = theorem.theorem.full_name
        line = int(theorem.start.line_nb)
        tactics = theorem.get_traced_tactics()
        if not tactics:
            proofs.append(ProofRecord(name, line, "no-tactics"))
            continue
        if any(_SORRY.search(t.tactic) for t in tactics):
            proofs.append(ProofRecord(name, line, "admitted", detail="sorry in the proof"))
            continue
        for step, tactic in enumerate(tactics):
            after = tactic.state_after.strip()
            closed = after == NO_GOALS
            rows.append(StepRow(source, "lean", unit, name, int(tactic.start.line_nb),
                                int(tactic.start.column_nb), step, tactic.state_before, tactic.tactic,
                                "" if closed else tactic.state_after, closed, trace))
        proofs.append(ProofRecord(name, line, "traced", len(tactics)))
    record = UnitRecord(source, unit, trace, None, len(rows), tuple(proofs),
                        seconds=round(time.monotonic() - started, 3))
    return record, rows


def dojo_units(traced_repo: Any, *, source: str, trace: str) -> Iterator[tuple[UnitRecord, list[StepRow]]]:
    """Every traced file of the repository as a unit, in path order."""
    for traced_file in sorted(traced_repo.traced_files, key=lambda f: str(f.path)):
        yield dojo_unit(traced_file, source=source, trace=trace)


def repo_source(traced_repo: Any) -> str:
    """The corpus name of a traced repository: its URL at its commit."""
    repo = traced_repo.repo
    return f"{repo.url}@{repo.commit}"


def trace_dojo(traced_repo: Any, dataset: Dataset, *, trace: str, source: str | None = None,
               console: Console | None = None) -> TraceSummary:
    """Append every traced file not yet in ``dataset``; returns the dataset's summary, with what this call
    converted (``TraceSummary.run``)."""
    source = source or repo_source(traced_repo)
    every = list(traced_repo.traced_files)
    files = [f for f in every
             if not dataset.is_done(source, Path(f.path).as_posix())]
    written: list[UnitRecord] = []
    with Progress(console=console or Console(stderr=True)) as progress:
        bar = progress.add_task("converting", total=len(files))
        for traced_file in sorted(files, key=lambda f: str(f.path)):
            record, rows = dojo_unit(traced_file, source=source, trace=trace)
            written.append(dataset.add_unit(record, rows))
            progress.update(bar, advance=1)
    return summarize(list(dataset.records()), run_counts(len(every), written))


def load_traced_repo(path: str | Path) -> Any:
    """``lean_dojo.TracedRepo.load_from_disk``: the ``*.trace.xml`` files LeanDojo's ``trace`` wrote.

    lean_dojo is imported as the dojo backend imports it, so that what its import can do wrong (no git,
    no package, a network call) is the backend's ``BackendUnavailableError``, never a raw traceback."""
    from search.backends.lean.dojo_api import load_dojo_api
    from search.backends.lean.dojo_config import LeanDojoConfig

    load_dojo_api(LeanDojoConfig())
    from lean_dojo import TracedRepo

    return TracedRepo.load_from_disk(Path(path))
