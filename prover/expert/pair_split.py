"""Training and held-out (state, tactic) pairs of a traced dataset, by the project's fixed split of files
(``prover.stdlib_bench.split``): the train files' steps train a tactic model, the test files' steps are
held out (``valid`` files are not used). Extra pairs (``pairs.jsonl`` / ``added.jsonl`` rows of expert
iteration) join the training pairs unless their state is a held-out state, so no held-out row is ever
trained on through them. Training pairs are de-duplicated on (state, tactic), the first kept, as
``union_pairs`` does; held-out rows are kept as traced (trace order, repeats included).

Used by the retrieval loop's tactic-model stage (``prover.expert.tactic_rounds``) and by
``benchmarks/bench_tactic_model.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.stdlib_bench.split import file_split

Pair = tuple[str, str]

SAMPLE_RULE = "every n-th row in trace order, n = max(1, rows // size), the first size of them"


@dataclass(frozen=True)
class PairSplit:
    """``train``: the train files' pairs, de-duplicated, in trace order; ``heldout``: the test files' rows
    in trace order; ``counts``: rows read, kept and dropped, by reason."""

    train: list[Pair]
    heldout: list[Pair]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def heldout_states(self) -> frozenset[str]:
        return frozenset(state for state, _ in self.heldout)


def read_pair_split(trace: str | Path, extra: Sequence[Path] = ()) -> PairSplit:
    """The split of the traced dataset ``trace``, with the pairs of the ``extra`` JSONL files (rows with
    ``state`` and ``tactic``) added to the training side. Raises ``DatasetError`` for a folder that holds no
    traced dataset."""
    from prover.expert.trajectories import load_rows
    from prover.tracing.dataset import open_dataset

    columns = ("source", "file", "state_before", "tactic")
    table = open_dataset(trace).read(columns=list(columns))
    rows = list(zip(*(table.column(name).to_pylist() for name in columns), strict=True))
    train = [(state, tactic) for source, unit, state, tactic in rows if file_split(source, unit) == "train"]
    heldout = [(state, tactic) for source, unit, state, tactic in rows if file_split(source, unit) == "test"]
    traced_train = len(train)
    extra_rows = [row for path in extra for row in load_rows(path)]
    added, dropped = without_heldout_states(extra_rows, frozenset(s for s, _ in heldout))
    train += added
    unique = list(dict.fromkeys(train))
    seen = set(unique)
    counts = {"rows": len(rows), "train_rows": traced_train + len(added), "train_pairs": len(unique),
              "heldout_rows": len(heldout), "extra_pairs": len(added), "extra_dropped_heldout_state": dropped,
              "heldout_rows_also_in_train": sum(pair in seen for pair in heldout)}
    return PairSplit(unique, heldout, counts)


def without_heldout_states(rows: Iterable[dict[str, Any]], heldout_states: frozenset[str],
                           ) -> tuple[list[Pair], int]:
    """The (state, tactic) of each row whose state is not held out, and how many were dropped."""
    kept, dropped = [], 0
    for row in rows:
        if row["state"] in heldout_states:
            dropped += 1
        else:
            kept.append((row["state"], row["tactic"]))
    return kept, dropped


def every_nth(rows: Sequence[Pair], size: int) -> list[Pair]:
    """A fixed sample of at most ``size`` rows spread over ``rows`` (``SAMPLE_RULE``)."""
    if size < 1:
        raise ValueError(f"a sample size must be >= 1, got {size}")
    return list(rows[:: max(1, len(rows) // size)][:size])


def pairs_digest(pairs: Iterable[Pair]) -> str:
    """A SHA-256 of the pairs in order: what a resumed run compares to know it has the same pairs."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(json.dumps(pair, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()
