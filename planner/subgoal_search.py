"""One best-first search from a subgoal's session, and the assembly of the final proof.

A subgoal's session starts inside the theorem's proof, so the backend's whole-proof ``verify`` cannot check
a subgoal proof alone. Its searches verify by replay instead: the tactics are run again from the
session's initial state and must end in ``ProofFinished``. That is what makes a proof taken from the
shared cache (found by another attempt, names translated) count only once it worked here. The assembled
proof is then verified as a whole by the backend, and only that verdict makes a theorem proved.

A replay checks a proof already found, so, as a search's verification, it is not cut to the attempt's
time left below a floor: it runs each tactic under the search's ``tactic_timeout`` and, where the attempt
has a time limit, stops (unverified) once ``max(time left, REPLAY_FLOOR_S)`` seconds are spent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from planner.plan import Subgoal
from search.best_first import BestFirstSearch, TacticFilter
from search.config import SearchConfig
from search.driver import run_search
from search.graph import SearchGraph
from search.lean_proof import lean_by_block
from search.policy_identity import fingerprint_of
from search.progress import SearchObserver
from search.proof_cache import ProofCache
from search.protocols import Policy, Session
from search.result import SearchStats
from search.types import ProofFinished, TacticState, Verdict

logger = logging.getLogger(__name__)


Verifier = Callable[[Sequence[str]], Verdict]
TimeLeft = Callable[[], float | None]

REPLAY_FLOOR_S = 60.0  # a replay may always take this long, even once the attempt's time is spent


def replay_verifier(session: Session, tactic_filter: TacticFilter | None, *,
                    tactic_timeout: float | None = None, time_left: TimeLeft = lambda: None,
                    clock: Callable[[], float] = time.monotonic) -> Verifier:
    """A verifier that runs ``tactics`` from ``session``'s initial state: ok when every tactic passes
    the filter, each but the last leaves a state and the last finishes the proof. Each tactic runs under
    ``tactic_timeout`` (``None``: the session's default); where ``time_left()`` gives the attempt's
    seconds left, the replay as a whole stops after ``max(time left, REPLAY_FLOOR_S)``."""

    def verify(tactics: Sequence[str]) -> Verdict:
        left = time_left()
        deadline = None if left is None else clock() + max(left, REPLAY_FLOOR_S)
        state = session.initial_state()
        for step, tactic in enumerate(tactics, start=1):
            reason = tactic_filter(tactic) if tactic_filter is not None else None
            if reason is not None:
                return Verdict(False, (f"tactic {tactic!r} refused: {reason}",))
            timeout = tactic_timeout
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    return Verdict(False, (f"the replay ran out of the attempt's time before step {step}",))
                timeout = remaining if timeout is None else min(timeout, remaining)
            result = session.run_tactic(state, tactic, timeout=timeout)
            last = step == len(tactics)
            if last and isinstance(result, ProofFinished):
                return Verdict(True, proof_text="\n".join(tactics))
            if last or not isinstance(result, TacticState):
                return Verdict(False, (f"replaying step {step} ({tactic!r}) gave {result!r}",))
            state = result
        return Verdict(False, ("an empty proof",))

    return verify


class SubgoalSearch(NamedTuple):
    """What one subgoal's search found: its stop reason, the replayed proof (or None), its counters and
    its explored graph (for the explorer's pages)."""

    stop_reason: str
    tactics: tuple[str, ...] | None
    stats: SearchStats
    graph: SearchGraph


def search_subgoal(session: Session, *, policy: Policy, config: SearchConfig,
                   tactic_filter: TacticFilter | None, cache: ProofCache | None,
                   observer: SearchObserver | None = None, time_left: TimeLeft = lambda: None,
                   clock: Callable[[], float] = time.monotonic) -> SubgoalSearch:
    """Search from ``session``'s initial state. A proof is returned only after it replayed (see
    ``replay_verifier``: under ``config.tactic_timeout`` per tactic, within the attempt's ``time_left``
    or the floor); the search publishes it to ``cache``, and shares failures there under the policy's
    fingerprint (``search.policy_identity``)."""
    search = BestFirstSearch(session.initial_state(), config=config, tactic_filter=tactic_filter, cache=cache,
                             policy_fingerprint=fingerprint_of(policy), context=session.theorem.environment)
    verifier = replay_verifier(session, tactic_filter, tactic_timeout=config.tactic_timeout,
                               time_left=time_left, clock=clock)
    run_search(search, session, policy, verifier, observer=observer)
    assert search.stop_reason is not None
    return SubgoalSearch(search.stop_reason.value, search.proof, search.stats, search.graph)


def have_block(subgoal: Subgoal, tactics: Sequence[str]) -> str:
    """``have NAME : STATEMENT := by`` and the subgoal's tactics indented under it (a multi-line tactic:
    Lean reads the lines below as the ``by`` block)."""
    return f"{subgoal.text} := {lean_by_block(tactics)}"


def planned_tactics(subgoals: Sequence[Subgoal], proofs: Sequence[Sequence[str]],
                    main: Sequence[str]) -> tuple[str, ...]:
    """The whole proof as a tactic list for ``Backend.verify``: one ``have`` block per subgoal (Lean), or
    each ``assert`` followed by its proof's tactics (Coq: the asserted fact is the focused goal until its
    proof closes it), then the main goal's tactics."""
    if len(subgoals) != len(proofs):
        raise ValueError(f"{len(subgoals)} subgoals but {len(proofs)} proofs")
    tactics: list[str] = []
    for subgoal, proof in zip(subgoals, proofs, strict=True):
        if subgoal.form == "assert":
            tactics += [subgoal.text, *proof]
        else:
            tactics.append(have_block(subgoal, proof))
    return (*tactics, *main)
