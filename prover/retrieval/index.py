"""The retrieval index: traced states as TF-IDF vectors of their tokens, searched by cosine nearest
neighbours (scikit-learn's ``TfidfVectorizer`` and ``NearestNeighbors``).

Rows with the same state text are one entry that keeps every tactic recorded there with its count, so
a corpus's many repeated states (``intros`` at the same statement shape, library boilerplate) cost one
vector. Entries keep the state text, read again at query time to map hypothesis names.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

from prover.retrieval.state_text import features

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One distinct traced state and the tactics recorded at it, most frequent first."""

    state: str
    tactics: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Neighbour:
    entry: Entry
    similarity: float  # cosine similarity in [0, 1]


class RetrievalIndex:
    """Nearest traced states of a state. Build with ``from_pairs``; raises ``ValueError`` when no pair
    is left to index."""

    def __init__(self, entries: list[Entry], *, build_seconds: float = 0.0) -> None:
        if not entries:
            raise ValueError("no traced steps to index (empty corpus, or every row filtered out)")
        self.entries = entries
        started = time.perf_counter()
        self.vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, dtype=np.float32)
        self.matrix = self.vectorizer.fit_transform([e.state for e in entries])
        self.nn = NearestNeighbors(metric="cosine", algorithm="brute", n_jobs=1).fit(self.matrix)
        self.build_seconds = build_seconds + time.perf_counter() - started

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]],
                   keep: Callable[[str], bool] | None = None) -> RetrievalIndex:
        """Index (state, tactic) pairs; ``keep(tactic)`` drops tactics a search could never send."""
        started = time.perf_counter()
        by_state: dict[str, Counter[str]] = {}
        for state, tactic in pairs:
            if not state or (keep is not None and not keep(tactic)):
                continue
            by_state.setdefault(state, Counter())[tactic] += 1
        entries = [Entry(state, tuple(counts.most_common())) for state, counts in by_state.items()]
        return cls(entries, build_seconds=time.perf_counter() - started)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def vocabulary_size(self) -> int:
        return len(self.vectorizer.vocabulary_)

    def query(self, states: Sequence[str], k: int) -> list[list[Neighbour]]:
        """The ``k`` most similar entries of each state, most similar first."""
        k = min(k, len(self.entries))
        vectors = self.vectorizer.transform(list(states))
        distances, indices = self.nn.kneighbors(vectors, n_neighbors=k)
        return [[Neighbour(self.entries[i], float(max(0.0, 1.0 - d))) for d, i in zip(row_d, row_i,
                                                                                      strict=True)]
                for row_d, row_i in zip(distances, indices, strict=True)]
