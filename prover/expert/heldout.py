"""The fixed split of a benchmark's rows into the data part (searched for training data every round) and the
held-out part (evaluated every round, never searched for data).

The rule, decided before any run and never tuned: a row is held out when
``int(sha256(name)[:8], 16) % 100 < heldout_percent`` (its name's SHA-256 in hex, the first eight digits as
an integer). It depends on the row's name alone, so a row keeps its side whatever else the benchmark holds
and in whatever order; about ``heldout_percent`` percent of the rows are held out. Rows the benchmark marks
as not elaborating (``coq_8_16``) are in neither part. Each part keeps file order, cut to its limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic
from prover.sweep.benchmark import BenchmarkItem
from prover.theorem_input import jsonl_rows

HELDOUT_RULE = "held out when int(sha256(name)[:8], 16) % 100 < heldout_percent"


def is_heldout(name: str, percent: int) -> bool:
    """Whether the row named ``name`` is held out at ``percent`` (0 to 100)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100 < percent


@dataclass(frozen=True)
class BenchmarkParts:
    """The rows of each part (file order, limits applied) and the names of the rows in neither."""

    data: tuple[BenchmarkItem, ...]
    heldout: tuple[BenchmarkItem, ...]
    invalid: tuple[str, ...]

    def manifest(self, percent: int) -> dict[str, Any]:
        """What the run manifest records: the rule and each part's names."""
        return {"rule": HELDOUT_RULE, "heldout_percent": percent,
                "data": [item.theorem.name for item in self.data],
                "heldout": [item.theorem.name for item in self.heldout], "invalid": list(self.invalid)}


def split_rows(items: Sequence[BenchmarkItem], percent: int, *, data_limit: int | None = None,
               heldout_limit: int | None = None) -> BenchmarkParts:
    """The data and held-out parts of a benchmark's rows (``HELDOUT_RULE``)."""
    valid = [item for item in items if item.invalid is None]
    heldout = [item for item in valid if is_heldout(item.theorem.name, percent)]
    data = [item for item in valid if not is_heldout(item.theorem.name, percent)]
    return BenchmarkParts(tuple(data[:data_limit]), tuple(heldout[:heldout_limit]),
                          tuple(item.theorem.name for item in items if item.invalid is not None))


def write_part(path: Path, source: Path, items: Sequence[BenchmarkItem]) -> None:
    """Write ``items`` as a benchmark file a sweep reads: the source's own rows for a ``.jsonl`` benchmark
    (every field kept), else name, split, header and statement."""
    rows: list[dict[str, Any]]
    if source.is_file():
        by_line = dict(jsonl_rows(source))
        rows = [by_line[item.line] for item in items]
    else:
        rows = [{"name": item.theorem.name, "split": item.split, "header": item.theorem.header,
                 "statement": item.theorem.statement} for item in items]
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
