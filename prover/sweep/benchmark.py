"""Benchmarks: JSONL rows in the format of ../shared/benchmarks (name, split, header, statement), or a folder
in the miniF2F-rocq layout (``DIR/test/*.v``, ``DIR/valid/*.v``, one theorem per file named like it)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from prover.theorem_input import BenchmarkItem as BenchmarkItem  # re-exported: what a sweep reads
from prover.theorem_input import InputError, benchmark_rows, coq_theorem_from_file

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BENCHMARKS_ENV = "PROVER_BENCHMARKS_DIR"
SPLIT_FOLDERS = ("test", "valid")  # the folders of a miniF2F-rocq checkout, one .v file per theorem


def resolve_benchmark(name_or_path: str) -> Path:
    """A path as given, or a name looked up as ``NAME.jsonl`` in $PROVER_BENCHMARKS_DIR, then in the
    benchmarks shipped with the package (``prover/data``)."""
    path = Path(name_or_path)
    if path.is_file() or path.is_dir():
        return path
    folders = [Path(os.environ[BENCHMARKS_ENV])] if os.environ.get(BENCHMARKS_ENV) else []
    folders.append(DATA_DIR)
    for folder in folders:
        candidate = folder / f"{name_or_path}.jsonl"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.jsonl")})
    raise InputError(f"no benchmark {name_or_path!r}: no such file or folder (a .jsonl file, a .v file or "
                     f"a folder of .v files), and not one of the named benchmarks {known} "
                     f"(set ${BENCHMARKS_ENV} to a folder of .jsonl files to add names)")


def load_benchmark(path: Path, split: str | None = None, assistant: str | None = None) -> list[BenchmarkItem]:
    """The rows of ``path`` (only ``split`` if given), in file order, read for ``assistant`` (a Coq row's
    statement loses its comments: ``theorem_from_row``); names must be unique. A folder is read as the
    miniF2F-rocq layout (``load_coq_folder``)."""
    if path.is_dir():
        return load_coq_folder(path, split)
    items: list[BenchmarkItem] = []
    splits: Counter[str] = Counter()
    for row in benchmark_rows(path, assistant):
        splits[row.split] += 1
        if split is None or row.split == split:
            items.append(row)
    if not items and splits:
        known = ", ".join(f"{name or '(none)'} ({count})" for name, count in sorted(splits.items()))
        raise InputError(f"{path}: no theorems in split {split!r}; its splits are {known}")
    if not items:
        raise InputError(f"{path}: no theorems")
    return items


def load_coq_folder(folder: Path, split: str | None = None) -> list[BenchmarkItem]:
    """The theorems of a miniF2F-rocq checkout: ``folder/SPLIT/NAME.v`` for each split folder (only
    ``split`` when given), files in name order. Each file must declare ``Theorem NAME`` (or ``Lemma``)
    named like the file; raises ``InputError`` naming the file otherwise, or when no split folder holds
    a ``.v`` file."""
    if split is not None and not (folder / split).is_dir():
        present = [s for s in SPLIT_FOLDERS if (folder / s).is_dir()]
        raise InputError(f"{folder}: no {split}/ folder (expected the miniF2F-rocq layout "
                         f"{folder}/{{{','.join(SPLIT_FOLDERS)}}}/*.v); its splits are "
                         f"{', '.join(present) or 'none'}")
    splits = [split] if split is not None else [s for s in SPLIT_FOLDERS if (folder / s).is_dir()]
    items: list[BenchmarkItem] = []
    seen: dict[str, Path] = {}
    for name in splits:
        for source in sorted((folder / name).glob("*.v")):
            theorem = coq_theorem_from_file(source)
            if theorem.name in seen:
                raise InputError(f"{source}: theorem {theorem.name!r} also in {seen[theorem.name]}")
            seen[theorem.name] = source
            items.append(BenchmarkItem(theorem, name, 1))
    if not items:
        where = f"{folder}/{split}" if split else f"{folder}/{{{','.join(SPLIT_FOLDERS)}}}"
        raise InputError(f"{where}: no .v files (expected the miniF2F-rocq layout: one theorem per file)")
    return items
