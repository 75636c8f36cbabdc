"""The traced corpus the retrieval loop starts from, checked before any search.

Corpus 0 is the corpus's train files only (``prover.stdlib_bench.split.file_split``: the standard
library's fixed file split; every other development's file is train). ``check_corpus_usable`` refuses a
corpus that is no dataset, has a damaged shard or no row in its train files; when the dataset does hold
rows, but none in a train file (only held-out stdlib files were traced), its error here says so: how many
steps the dataset holds, in which splits, and how to get train rows. ``check_train_lemma_index`` refuses,
as early, a sample of stdlib train lemmas that takes every train file that has rows: those lemmas are
searched with corpus 0 less their own files' rows, which would leave nothing to index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prover.theorem_input import InputError


def check_corpus(corpus: str) -> str:
    """The corpus's digest (``Dataset.digest``); raises ``InputError`` before any search when the corpus is
    no dataset, a shard of it is damaged, or its train files hold no traced step (``check_corpus_usable``,
    with what the dataset holds instead: ``train_rows_missing``)."""
    from prover.retrieval.policy import RetrievalConfig, check_corpus_usable
    from prover.tracing.dataset import DatasetError, open_dataset

    try:
        check_corpus_usable(RetrievalConfig(corpus=corpus, corpus_split="train"))
    except InputError as exc:
        raise InputError(train_rows_missing(corpus) or str(exc)) from exc
    try:
        return open_dataset(corpus).digest()
    except DatasetError as exc:
        raise InputError(f"retrieval corpus {corpus}: {exc}") from exc


def split_counts(corpus: str) -> dict[str, tuple[int, int]]:
    """(files, traced steps) of the corpus per split of the file split (``train``, ``valid``, ``test``).
    Raises ``DatasetError``."""
    from prover.stdlib_bench.split import file_split
    from prover.tracing.dataset import open_dataset

    files: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for record in open_dataset(corpus).records():
        split = file_split(record.source, record.unit)
        files[split] += 1
        rows[split] += record.rows
    return {split: (files[split], rows[split]) for split in files}


def train_rows_missing(corpus: str) -> str | None:
    """The error for a dataset that holds traced steps, none of them in a train file; ``None`` otherwise
    (no such dataset, no step at all, or train rows: ``check_corpus_usable`` says what is wrong)."""
    from prover.tracing.dataset import DatasetError

    try:
        counts = split_counts(corpus)
    except DatasetError:
        return None
    total = sum(rows for _, rows in counts.values())
    if total == 0 or counts.get("train", (0, 0))[1] > 0:
        return None
    held_out = ", ".join(f"{files} {split} file{'' if files == 1 else 's'} ({rows} steps)"
                         for split, (files, rows) in sorted(counts.items()))
    return (f"retrieval corpus {corpus} (train files): no traced steps to index: the dataset holds {total} "
            f"traced steps (state-tactic pairs), none from a train-split file: {held_out} of the standard "
            "library's fixed file split, which stay out of every index. Trace the standard library into it "
            f"(`prover trace --out {corpus}`: its train files are about 70%), or another development (its "
            "files all count as train)")


def check_train_lemma_index(corpus: str, sampled: Iterable[tuple[str, str]], *, option: str) -> None:
    """Raise ``InputError`` when the corpus's train files that hold traced steps are all in ``sampled``
    ((source, unit) of the stdlib train files whose lemmas a round searches): the index those lemmas are
    searched with, corpus 0 less their files' rows, would be empty. ``option`` names the setting."""
    from prover.retrieval.policy import corpus_units
    from prover.tracing.dataset import DatasetError, open_dataset

    taken = set(sampled)
    if not taken:
        return
    try:
        units = corpus_units(corpus, "train") or set()
        rows = sum(r.rows for r in open_dataset(corpus).records()
                   if (r.source, r.unit) in units and (r.source, r.unit) not in taken)
    except DatasetError as exc:
        raise InputError(f"retrieval corpus {corpus}: {exc}") from exc
    if rows == 0:
        names = ", ".join(sorted(unit for _, unit in taken))
        raise InputError(
            f"retrieval corpus {corpus}: every train file with traced steps is among the {len(taken)} "
            f"standard-library train file(s) sampled by {option} ({names}), whose lemmas are searched with "
            "the train files' steps less their own files' (no lemma replays its own file's proof): that "
            f"index would be empty. Trace more files into the corpus (`prover trace --out {corpus}`) or "
            f"lower {option}")
