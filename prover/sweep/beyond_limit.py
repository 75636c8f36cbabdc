"""Results a sweep's folder holds that its report does not count, and how to count them.

A folder's report covers the first ``limit`` theorems of its benchmark's split: the largest ``--limit``
run there (``report_limit``), so a resume with a smaller one never hides finished work. Results can still
lie outside what the report covers: in a folder whose stored limit an older version lowered on a resume
with a smaller ``--limit``, or after rows left the benchmark file. They stay in ``results.jsonl``;
``uncounted_results`` says how many there are, and the report (``SweepSummary.uncounted``) says so, and
how to count those that can be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.sweep.benchmark import BenchmarkItem
from prover.sweep.freshness import is_current, statement_digest
from prover.sweep.manifest import MANIFEST, read_manifest


@dataclass(frozen=True)
class UncountedResults:
    """Theorems with results in ``results.jsonl`` that a report of the first ``limit`` theorems leaves out."""

    limit: int | None  # the --limit the report covers (None: every theorem of the split)
    past_limit: int = 0  # theorems of the split after the first ``limit`` that have results
    past_limit_results: int = 0  # their results (attempts)
    limit_to_count: int | None = None  # the smallest --limit that covers them all
    selected: int = 0  # theorems of the split, with no --limit
    absent: int = 0  # theorems with results the benchmark's split no longer holds (its file changed)

    def __bool__(self) -> bool:
        return bool(self.past_limit or self.absent)

    def sentence(self, results_file: str = "results.jsonl") -> str:
        """One sentence for the report: what is not counted, and how to count it."""
        parts = []
        if self.past_limit:
            how = ("resume the sweep without --limit to count them" if self.limit_to_count == self.selected
                   else f"resume the sweep with --limit {self.limit_to_count} (or without --limit) to count "
                        "them")
            parts.append(f"{self.past_limit_results} result(s) of {self.past_limit} theorem(s) past the "
                         f"folder's --limit {self.limit}: {how}")
        if self.absent:
            parts.append(f"results of {self.absent} theorem(s) that the benchmark's split no longer holds "
                         "(its file changed since): they cannot be counted")
        return f"Not counted in this report: {results_file} also holds " + "; and ".join(parts) + "."


def uncounted_results(selected: Sequence[BenchmarkItem], limit: int | None,
                      records: Sequence[dict[str, Any]]) -> UncountedResults:
    """What ``records`` hold beyond the first ``limit`` of ``selected`` (the split's items, in file order,
    before any limit). A result found for another statement than the benchmark now gives its theorem is
    not counted past the limit either: a resume would attempt that theorem again (``freshness``)."""
    position = {item.theorem.name: index for index, item in enumerate(selected)}
    digests = {item.theorem.name: statement_digest(item.theorem) for item in selected}
    cut = len(selected) if limit is None else limit
    past: dict[str, int] = {}
    absent: set[str] = set()
    for record in records:
        name = record["theorem"]
        index = position.get(name)
        if index is None:
            absent.add(name)
        elif index >= cut and is_current(record, digests[name]):
            past[name] = past.get(name, 0) + 1
    last = max((position[name] for name in past), default=None)
    return UncountedResults(limit=limit, past_limit=len(past), past_limit_results=sum(past.values()),
                            limit_to_count=None if last is None else last + 1, selected=len(selected),
                            absent=len(absent))


def report_limit(folder: Path, limit: int | None) -> int | None:
    """The ``--limit`` that a sweep's ``folder`` reports on and records (``sweep.json``, ``config.toml``)
    after a run with ``limit``: the largest ever run there, ``None`` (no limit) being the largest. A resume
    with a smaller ``--limit`` runs only its first theorems, but never hides the results of the others from
    the report, and ``--config OUT/config.toml`` still resumes the largest run. A folder whose manifest
    records no limit (or that has none yet) keeps ``None`` (resp. takes ``limit``)."""
    path = folder / MANIFEST
    if not path.exists():
        return limit
    before = read_manifest(path, ("benchmark",)).get("limit")
    return None if before is None or limit is None else max(before, limit)


def covered(limit: int | None, count: int) -> str:
    return f"all {count} theorem(s)" if limit is None else f"the first {count} theorem(s)"
