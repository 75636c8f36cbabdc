"""The synchronous driver: serves a search's requests one by one, in the order it hands them out.

This is the simplest driver and the reference for the others: ``prove`` and most tests use it. ``prove``
is also the one place that chooses the driver: one session, this one; more, the overlapped driver.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from search.best_first import BestFirstSearch
from search.config import SearchConfig
from search.finish import Verifier, finish
from search.overlap import prove_overlapped
from search.policy_identity import fingerprint_of
from search.progress import SearchObserver
from search.proof_cache import ProofCache
from search.protocols import Backend, Policy, Session
from search.requests import ExpandRequest, Request, TacticRequest, VerifyRequest
from search.result import SearchResult
from search.types import Theorem

logger = logging.getLogger(__name__)


def run_search(
    search: BestFirstSearch,
    session: Session,
    policy: Policy,
    verify: Verifier,
    *,
    clock: Callable[[], float] = time.perf_counter,
    observer: SearchObserver | None = None,
) -> None:
    """Serve ``search`` until it stops. Verification requests jump the queue: a found proof is checked
    before any other tactic runs. ``observer`` (``search.progress``) is called with the search after
    each answer fed to it."""
    queue: deque[Request] = deque()
    while True:
        fresh = search.requests()
        for request in fresh:
            if isinstance(request, VerifyRequest):
                queue.appendleft(request)
            else:
                queue.append(request)
        if search.done or not queue:
            return
        request = queue.popleft()
        started = clock()
        if isinstance(request, ExpandRequest):
            candidates = policy.propose([request.state.pp], request.n)[0]
            search.on_proposals(request, candidates, clock() - started)
        elif isinstance(request, TacticRequest):
            # the request's limit was set when its state was expanded; the budget may end sooner
            timeout = search.capped_timeout(request.timeout)
            result = session.run_tactic(request.state, request.tactic, timeout=timeout)
            search.on_tactic_result(request, result, clock() - started)
        else:
            verdict = verify(request.tactics)
            search.on_verdict(request, verdict, clock() - started)
        if observer is not None:
            observer(search)


def prove(
    theorem: Theorem,
    *,
    backend: Backend,
    policy: Policy,
    config: SearchConfig | None = None,
    sessions: int = 1,
    cache: ProofCache | None = None,
    observer: SearchObserver | None = None,
) -> SearchResult:
    """Search for a proof of ``theorem`` and return the result; a proof is reported only once the
    backend's whole-proof verification accepted it. ``sessions`` > 1 opens that many sessions and runs
    the overlapped driver (``search.overlap``: sibling tactics in parallel, the model working meanwhile;
    pair it with ``config.expansion_width``); 1 is this sequential driver. ``cache`` is shared with
    other searches; failures in it are shared only when ``policy`` declares a fingerprint
    (``search.policy_identity``). ``observer`` watches the search's progress (``search.progress``).

    Raises ``InvalidTheoremError`` when the backend refuses the theorem, ``BackendUnavailableError``
    when its proof assistant cannot run and ``ValueError`` when ``sessions`` < 1.
    """
    if sessions != 1:
        return prove_overlapped(theorem, backend=backend, policy=policy, config=config, sessions=sessions,
                                cache=cache, observer=observer)
    config = config or SearchConfig()
    session = backend.open(theorem)
    try:
        search = BestFirstSearch(session.initial_state(), config=config, tactic_filter=backend.check_tactic,
                                 cache=cache, policy_fingerprint=fingerprint_of(policy),
                                 context=theorem.environment)
        run_search(search, session, policy, lambda tactics: backend.verify(theorem, tactics),
                   observer=observer)
    finally:
        session.close()
    return finish(theorem, search, backend)
