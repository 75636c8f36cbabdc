"""The benchmarks a sweep can be given by name, with their splits and row counts (``prover benchmarks``).

Known by name: the ``.jsonl`` files in ``$PROVER_BENCHMARKS_DIR`` and in the package's ``prover/data``
(``resolve_benchmark``'s search path, in its order); more folders can be listed by path, where
miniF2F-rocq checkouts (``DIR/{test,valid}/*.v``) are recognised too.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prover.sweep.benchmark import BENCHMARKS_ENV, DATA_DIR, SPLIT_FOLDERS, load_benchmark
from prover.theorem_input import InputError


@dataclass(frozen=True)
class BenchmarkInfo:
    """One benchmark: the name ``prover sweep`` takes (``None``: give the path), its rows per split, the
    rows known not to elaborate, or the error that keeps it from being read."""

    path: Path
    name: str | None
    splits: dict[str, int] = field(default_factory=dict)
    invalid: int = 0
    error: str | None = None
    assistant: str = ""  # coq, lean, both (a file mixing them), or "" (unknown: unreadable)

    @property
    def rows(self) -> int:
        return sum(self.splits.values())


def _jsonl_info(path: Path, name: str | None) -> BenchmarkInfo:
    """Read as a sweep reads it (``load_benchmark``): a file a sweep refuses is listed with the reason."""
    try:
        items = load_benchmark(path)
    except InputError as exc:
        return BenchmarkInfo(path, name, error=str(exc))
    splits = Counter(item.split for item in items)
    invalid = sum(1 for item in items if item.invalid is not None)
    kinds = {"lean" if item.theorem.statement.rstrip().endswith(":=") else "coq" for item in items}
    assistant = kinds.pop() if len(kinds) == 1 else "both" if kinds else ""
    return BenchmarkInfo(path, name, dict(sorted(splits.items())), invalid, assistant=assistant)


def benchmark_assistant(path: Path) -> str:
    """Which assistant the theorems of the benchmark file or folder ``path`` are written for: coq, lean,
    both, or "" (unreadable; reading it again reports why)."""
    info = _folder_info(path) if path.is_dir() else _jsonl_info(path, None)
    return "" if info is None else info.assistant


def check_benchmark_assistant(path: Path, assistant: str, label: str) -> None:
    """Raise ``InputError`` when the benchmark at ``path`` (named ``label`` by the user) holds only
    theorems of the other assistant than ``assistant``, the backend's, saying which backend reads them:
    before, a Coq file under the default Lean backend failed on its first statement or on Lean's absence."""
    kind = benchmark_assistant(path)
    if kind == "coq" and assistant != "coq":
        raise InputError(f"{label} holds Coq theorems: add --backend coq")
    if kind == "lean" and assistant == "coq":
        raise InputError(f"{label} holds Lean theorems: use --backend repl (or dojo)")


def _folder_info(path: Path) -> BenchmarkInfo | None:
    """A miniF2F-rocq checkout (one ``.v`` file per theorem under its split folders), or ``None``."""
    splits = {split: len(list((path / split).glob("*.v")))
              for split in SPLIT_FOLDERS if (path / split).is_dir()}
    if not any(splits.values()):
        return None
    return BenchmarkInfo(path, None, splits, assistant="coq")


def search_folders() -> list[Path]:
    """Where ``resolve_benchmark`` looks names up, in order."""
    folders = [Path(os.environ[BENCHMARKS_ENV])] if os.environ.get(BENCHMARKS_ENV) else []
    return [*folders, DATA_DIR]


def known_benchmarks(extra: Sequence[Path] = ()) -> list[BenchmarkInfo]:
    """The benchmarks known by name (a name found twice is listed where it resolves), then those in the
    ``extra`` folders (or files) by path. Raises ``InputError`` for an ``extra`` path that is missing."""
    found: list[BenchmarkInfo] = []
    names: set[str] = set()
    for folder in search_folders():
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            if path.stem not in names:
                names.add(path.stem)
                found.append(_jsonl_info(path, path.stem))
    for place in extra:
        if not place.exists():
            raise InputError(f"{place}: no such file or folder")
        if place.is_file():
            found.append(_jsonl_info(place, None))
            continue
        rocq = _folder_info(place)
        inside = [] if rocq is None else [rocq]
        inside += [_jsonl_info(path, None) for path in sorted(place.glob("*.jsonl"))]
        inside += [info for sub in sorted(p for p in place.iterdir() if p.is_dir())
                   if (info := _folder_info(sub)) is not None]
        if not inside:
            raise InputError(f"{place}: no benchmark in this folder (no .jsonl file, no test/ or valid/ "
                             "folder of .v files)")
        found += inside
    return found
