"""The retrieval index: traced states as TF-IDF vectors of their tokens (scikit-learn's
``TfidfVectorizer``), searched by cosine similarity.

The vectors are unit length, so cosine similarity is a dot product; the matrix is kept transposed (one row
per feature listing the states that have it: an inverted index, scipy's CSR), so a query is one sparse
product that touches only states sharing a feature with it, then a partial sort. Features present in more
than ``max_df`` of the states (``=``, ``nat``, a hypothesis) weigh little and would make every query touch
most states, so they are dropped. (``sklearn.neighbors.NearestNeighbors`` with the cosine metric takes
about 110 ms a query at 100k states here: it renormalises the corpus on every call; this takes about 1.5 ms,
``benchmarks/bench_retrieval.py``.)

Rows with the same state text are one entry that keeps every tactic recorded there with its count, so
a corpus's many repeated states (``intros`` at the same statement shape, library boilerplate) cost one
vector. Entries keep the state text, read again at query time to map hypothesis names.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn import config_context
from sklearn.feature_extraction.text import TfidfVectorizer

from prover.retrieval.state_text import features

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One distinct traced state and the tactics recorded at it, most frequent first."""

    state: str
    tactics: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Neighbour:
    index: int  # the entry's position in ``RetrievalIndex.entries``
    entry: Entry
    similarity: float  # cosine similarity in [0, 1]


class RetrievalIndex:
    """Nearest traced states of a state. Build with ``from_pairs``; raises ``ValueError`` when no pair
    is left to index. ``max_df``: the largest share of states a feature may occur in and still count."""

    def __init__(self, entries: list[Entry], *, max_df: float = 0.1, build_seconds: float = 0.0) -> None:
        if not entries:
            raise ValueError("no traced steps to index (empty corpus, or every row filtered out)")
        self.entries = entries
        started = time.perf_counter()
        # with few states, max_df as a share would drop most features: then it is a count of states
        limit: float | int = max_df if len(entries) * max_df >= 50 else len(entries)
        self.vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, dtype=np.float32,
                                          max_df=limit)
        matrix = self.vectorizer.fit_transform([e.state for e in entries])
        self.postings = matrix.T.tocsr()  # feature -> states
        self.build_seconds = build_seconds + time.perf_counter() - started

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], keep: Callable[[str], bool] | None = None, *,
                   max_df: float = 0.1) -> RetrievalIndex:
        """Index (state, tactic) pairs; ``keep(tactic)`` drops tactics a search could never send."""
        started = time.perf_counter()
        by_state: dict[str, Counter[str]] = {}
        for state, tactic in pairs:
            if not state or (keep is not None and not keep(tactic)):
                continue
            by_state.setdefault(state, Counter())[tactic] += 1
        entries = [Entry(state, tuple(counts.most_common())) for state, counts in by_state.items()]
        return cls(entries, max_df=max_df, build_seconds=time.perf_counter() - started)

    def __len__(self) -> int:
        return len(self.entries)

    @functools.cached_property
    def digest(self) -> str:
        """A short hash of what the index answers from (its entries, in order, and its feature cut-off):
        equal for two indexes of the same corpus, whatever path it was read from. Computed once."""
        digest = hashlib.sha256(repr(self.vectorizer.max_df).encode())
        for entry in self.entries:
            digest.update(repr((entry.state, entry.tactics)).encode())
        return digest.hexdigest()[:16]

    @property
    def vocabulary_size(self) -> int:
        return len(self.vectorizer.vocabulary_)

    def query(self, states: Sequence[str], k: int) -> list[list[Neighbour]]:
        """The ``k`` most similar entries of each state (similarity > 0), most similar first."""
        k = min(k, len(self.entries))
        # the inputs are our own strings: skip scikit-learn's per-call argument checks (a third of a query)
        with config_context(skip_parameter_validation=True, assume_finite=True):
            vectors = self.vectorizer.transform(list(states))
        products = (vectors @ self.postings).tocsr()
        found = []
        for row in range(products.shape[0]):  # only the states sharing a feature with the query
            start, end = products.indptr[row], products.indptr[row + 1]
            ids, sims = products.indices[start:end], products.data[start:end]
            top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
            top = top[np.lexsort((ids[top], -sims[top]))]  # most similar first, ties by entry order
            found.append([Neighbour(int(ids[i]), self.entries[ids[i]], float(min(sims[i], 1.0)))
                          for i in top if sims[i] > 0])
        return found
