"""One lemma, each method, same environment and budget: the retrieval policy's best-first search,
``sauto`` alone, and (optionally) the tactic-list baseline. Every proof counted passed the backend's
whole-file check."""

from __future__ import annotations

import logging
import time
from typing import Any

from prover.stdlib_bench.backend import StdlibBackend
from prover.stdlib_bench.lemmas import StdlibLemma
from search import SearchConfig, prove
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import ProofFinished

logger = logging.getLogger(__name__)


def attempt_lemma(backend: StdlibBackend, lemma: StdlibLemma, config: Any, index: Any) -> dict[str, Any]:
    """The result dict of one lemma: per method ``proved``, ``seconds`` and the proof or the reason."""
    theorem = backend.at(lemma)
    result: dict[str, Any] = {"key": lemma.key, "unit": lemma.unit, "name": lemma.name, "line": lemma.line}
    try:
        for method in config.methods:
            started = time.monotonic()
            if method == "sauto":
                outcome = _sauto(backend, theorem, config.budget)
            else:
                outcome = _search(backend, theorem, _policy(method, config, index), config)
            outcome["seconds"] = round(time.monotonic() - started, 2)
            result[method] = outcome
    except (BackendUnavailableError, InvalidTheoremError) as exc:  # no environment: not counted
        logger.warning("%s: %s", lemma.key, exc)
        result["environment_error"] = str(exc)
    return result


def _policy(method: str, config: Any, index: Any) -> Any:
    if method == "tactics":
        from search.backends.coq import CoqTacticPolicy

        return CoqTacticPolicy()
    from prover.retrieval.mixture import MixturePolicy
    from prover.retrieval.policy import RetrievalPolicy
    from search.backends.coq import CoqTacticPolicy

    policy = RetrievalPolicy(index, config.retrieval)
    weight = config.retrieval.tactic_list_weight
    if weight == 0:
        return policy
    return MixturePolicy([(policy, 1 - weight), (CoqTacticPolicy(), weight)], width=config.retrieval.width)


def _search(backend: StdlibBackend, theorem: Any, policy: Any, config: Any) -> dict[str, Any]:
    width = getattr(policy, "width", None) or 16
    search = SearchConfig(time_limit=config.budget, tactic_timeout=config.tactic_timeout,
                          tactics_per_node=width)
    result = prove(theorem, backend=backend, policy=policy, config=search)
    outcome: dict[str, Any] = {"proved": result.proved, "stop": result.stop_reason.value,
                               "expansions": result.stats.expansions}
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
