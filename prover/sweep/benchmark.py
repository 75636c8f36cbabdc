"""Benchmark files: JSONL rows in the format of ../shared/benchmarks (name, split, header, statement)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from prover.theorem_input import InputError, theorem_from_row
from search import Theorem

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BENCHMARKS_ENV = "PROVER_BENCHMARKS_DIR"


@dataclass(frozen=True)
class BenchmarkItem:
    theorem: Theorem
    split: str
    line: int  # 1-based line of the row in its file


def resolve_benchmark(name_or_path: str) -> Path:
    """A path as given, or a name looked up as ``NAME.jsonl`` in $PROVER_BENCHMARKS_DIR, then in the
    benchmarks shipped with the package (``prover/data``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    folders = [Path(os.environ[BENCHMARKS_ENV])] if os.environ.get(BENCHMARKS_ENV) else []
    folders.append(DATA_DIR)
    for folder in folders:
        candidate = folder / f"{name_or_path}.jsonl"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.jsonl")})
    raise InputError(f"no benchmark {name_or_path!r}: not a file, and not one of {known} "
                     f"(set ${BENCHMARKS_ENV} to a folder of .jsonl files to add names)")


def load_benchmark(path: Path, split: str | None = None) -> list[BenchmarkItem]:
    """The rows of ``path`` (only ``split`` if given), in file order; names must be unique."""
    items: list[BenchmarkItem] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise InputError(f"{where}: a row must be a JSON object")
            theorem = theorem_from_row(row, where)
            if theorem.name in seen:
                raise InputError(f"{where}: theorem {theorem.name!r} already on line {seen[theorem.name]}")
            seen[theorem.name] = number
            row_split = str(row.get("split", ""))
            if split is None or row_split == split:
                items.append(BenchmarkItem(theorem, row_split, number))
    if not items:
        raise InputError(f"{path}: no theorems" + (f" in split {split!r}" if split else ""))
    return items
