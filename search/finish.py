"""The end of every driver: a stopped search frozen into its result, and the verifier type drivers call."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from search.best_first import BestFirstSearch
from search.protocols import Backend
from search.result import Proof, SearchResult
from search.types import Theorem, Verdict

logger = logging.getLogger(__name__)

Verifier = Callable[[Sequence[str]], Verdict]


def finish(theorem: Theorem, search: BestFirstSearch, backend: Backend) -> SearchResult:
    """Freeze a stopped search into its result."""
    assert search.stop_reason is not None, "the search has not stopped"
    proof = None
    if search.proof is not None and search.verdict is not None:
        text = search.verdict.proof_text or backend.render_proof(theorem, search.proof)
        proof = Proof(search.proof, text, search.verdict)
    logger.info("%s: %s after %d expansions", theorem.name, search.stop_reason.value,
                search.stats.expansions)
    return SearchResult(theorem.name, search.stop_reason, proof, search.stats, search.graph)
