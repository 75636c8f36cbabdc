"""One lemma, each method, same environment and budget: the retrieval policy's best-first search,
``sauto`` alone, and (optionally) the tactic-list baseline. Every proof counted passed the backend's
whole-file check."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from prover.retrieval.policy import RetrievalConfig, retrieval_policy
from prover.stdlib_bench.backend import StdlibBackend
from prover.stdlib_bench.environment import PrefixFailedError
from prover.stdlib_bench.lemmas import StdlibLemma, prefix_premises
from prover.stdlib_bench.library import TrainLibrary, environment_libraries
from prover.tracing.coq_source import SourceSentence
from search import SearchConfig, prove
from search.errors import InvalidTheoremError, TheoremLoadError
from search.protocols import Policy
from search.types import ProofFinished

logger = logging.getLogger(__name__)


def attempt_lemma(backend: StdlibBackend, lemma: StdlibLemma, config: Any, index: Any,
                  library: TrainLibrary | None = None) -> dict[str, Any]:
    """The result dict of one lemma: per method ``proved``, ``seconds`` and the proof or the reason. The
    retrieval method's premises (with ``premise_weight``) are the lemmas stated before it in its file and
    (with ``library_premises``) those of ``library`` loaded there.

    A lemma without its environment (``InvalidTheoremError``: its prefix failed, ``PrefixError``, or Coq
    refused its statement) is a permanent ``environment_error``, counted by neither method, and so is one
    whose statement coqtop died on or did not load in time on every try (``TheoremLoadError``: else the
    file would fail on every rerun). Any other ``BackendUnavailableError`` (coqtop could not start) is
    transient and propagates: the file's task fails, nothing of it is written, and a rerun retries it."""
    theorem = backend.at(lemma)
    result: dict[str, Any] = {"key": lemma.key, "unit": lemma.unit, "name": lemma.name, "line": lemma.line}
    try:
        for method in config.methods:
            started = time.monotonic()
            if method == "sauto":
                outcome = _sauto(backend, theorem, config.budget)
            else:
                policy = _policy(method, config, index, backend, lemma, library)
                outcome = _search(backend, theorem, policy, config)
            outcome["seconds"] = round(time.monotonic() - started, 2)
            result[method] = outcome
    except (InvalidTheoremError, TheoremLoadError) as exc:  # no environment: not counted
        logger.warning("%s: %s", lemma.key, exc)
        result["environment_error"] = str(exc)
        if isinstance(exc, PrefixFailedError):
            result["prefix_failed_line"] = exc.failed.line
    return result


def _policy(method: str, config: Any, index: Any, backend: StdlibBackend, lemma: StdlibLemma,
            library: TrainLibrary | None) -> Any:
    if method == "tactics":
        from search.backends.coq import CoqTacticPolicy

        return CoqTacticPolicy()
    return lemma_policy(index, config.retrieval, backend.sentences, lemma, library=library, backend=backend)


def lemma_policy(index: Any, retrieval: RetrievalConfig, sentences: Sequence[SourceSentence],
                 lemma: StdlibLemma, *, library: TrainLibrary | None = None,
                 backend: StdlibBackend | None = None) -> Policy:
    """The retrieval policy for ``lemma``: with ``premise_weight`` > 0 its premises are the lemmas stated
    before it in its file (``prefix_premises``) and, with ``library_premises`` > 0, ``library``'s lemmas
    of the files loaded in ``backend``'s environment for it (``environment_libraries``)."""
    premises = prefix_premises(sentences, lemma) if retrieval.premise_weight > 0 else []
    library_part = None
    if library is not None and backend is not None and retrieval.premise_weight > 0 \
            and retrieval.library_premises > 0:
        loaded = environment_libraries(sentences, lemma, backend.pool.preamble, backend.config)
        library_part = library.policy(loaded, retrieval.library_premises)
    return retrieval_policy(index, retrieval, "coq", premises, library_part)


def _search(backend: StdlibBackend, theorem: Any, policy: Any, config: Any) -> dict[str, Any]:
    width = getattr(policy, "width", None) or 16
    search = SearchConfig(time_limit=config.budget, tactic_timeout=config.tactic_timeout,
                          tactics_per_node=width, alpha=config.alpha)
    result = prove(theorem, backend=backend, policy=policy, config=search)
    stats = result.stats
    outcome: dict[str, Any] = {"proved": result.proved, "stop": result.stop_reason.value,
                               "expansions": stats.expansions, "tactic_calls": stats.tactic_calls,
                               "timeouts": stats.timeouts, "tactic_seconds": round(stats.tactic_seconds, 2),
                               "proofs_rejected": stats.proofs_rejected}
    if result.proof is not None:
        outcome["tactics"] = list(result.proof.tactics)
    return outcome


def _sauto(backend: StdlibBackend, theorem: Any, budget: float) -> dict[str, Any]:
    session = backend.open(theorem)
    try:
        answer = session.run_tactic(session.initial_state(), "sauto", timeout=budget)
    finally:
        session.close()
    if not isinstance(answer, ProofFinished):
        return {"proved": False, "reason": type(answer).__name__}
    verdict = backend.verify(theorem, ["sauto"])
    return {"proved": verdict.ok, "reason": "" if verdict.ok else "; ".join(verdict.messages)[:300]}
