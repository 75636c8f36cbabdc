"""Reading a Coq benchmark file: JSON lines with ``name``, ``split``, ``header``, ``statement`` and
``difficulty`` (the fields of ../shared/benchmarks, plus a grade).

The project's own benchmark is ``prover/data/coq_basic.jsonl``. Its grades, for the tactic-list baseline:
1 = one closing tactic (after ``intros``): ``lia``, ``tauto``, ``reflexivity``;
2 = a short structural proof (case analysis, connectives, ``nia``, ``firstorder``);
3 = ``induction`` then ``simpl``/``rewrite``/``lia`` (search depth 4 or more);
4 = beyond the baseline's list: a library lemma, an explicit witness, nested inductions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from search.types import Theorem

SPLITS = ("test", "valid")


@dataclass(frozen=True)
class CoqBenchmarkItem:
    """One benchmark theorem with its split and difficulty grade (1 easiest to 4 hardest)."""

    theorem: Theorem
    split: str
    difficulty: int


def read_coq_benchmark(path: str | Path, *, split: str | None = None) -> list[CoqBenchmarkItem]:
    """Read a benchmark file, keeping only ``split`` when given; order is the file's.

    Raises ``ValueError`` naming the line of a malformed row or a repeated name.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    items: list[CoqBenchmarkItem] = []
    seen: set[str] = set()
    # split at line feeds only: str.splitlines would also cut a statement at U+2028, U+0085 ...
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        item = _parse_row(line, f"{path}:{number}")
        if item.theorem.name in seen:
            raise ValueError(f"{path}:{number}: theorem {item.theorem.name!r} appears twice")
        seen.add(item.theorem.name)
        if split is None or item.split == split:
            items.append(item)
    return items


def _parse_row(line: str, where: str) -> CoqBenchmarkItem:
    try:
        row = json.loads(line)
        theorem = Theorem(row["name"], row["statement"], row.get("header", ""))
        item = CoqBenchmarkItem(theorem, row["split"], int(row["difficulty"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: malformed benchmark row: {exc}") from exc
    if item.split not in SPLITS or not 1 <= item.difficulty <= 4:
        raise ValueError(f"{where}: split must be one of {SPLITS} and difficulty 1..4")
    return item
