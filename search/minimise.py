"""Shorter proofs from found ones: drop every step a found proof does not need.

Best-first search keeps whatever path reached the proof first, detours included: a `rewrite H` that a
later `lra` did not need, eight `rewrite h0 in *` before the one that mattered. As training data those
detours teach the policy to make them. ``minimise_proof`` deletes steps one at a time, keeping a deletion
whenever the remaining tactics still close the proof in the same session (a proof that closes before its
last tactic is cut there), until no single step can go: a 1-minimal proof, as delta debugging calls it.

The session only runs tactics; the result is *not* verified. Count it as a proof only after
``Backend.verify`` accepted it, as with any proof the search finds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from search.protocols import Session
from search.types import ProofFinished, TacticState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replay:
    """A proof that closed when replayed: its tactics, the indices they had in the proof given to
    ``minimise_proof``, and the state (pretty-printed) before each."""

    tactics: tuple[str, ...]
    kept: tuple[int, ...]
    states: tuple[str, ...]


class _Budget:
    def __init__(self, calls: int) -> None:
        self.left = calls


def _replay(session: Session, tactics: Sequence[str], kept: Sequence[int], timeout: float | None,
            budget: _Budget) -> Replay | None:
    """Run ``tactics`` from the initial state; the replay (cut where the proof closed) or ``None``."""
    state = session.initial_state()
    states: list[str] = []
    for position, tactic in enumerate(tactics):
        if budget.left <= 0:
            return None
        budget.left -= 1
        states.append(state.pp)
        result = session.run_tactic(state, tactic, timeout=timeout)
        if isinstance(result, ProofFinished):
            end = position + 1
            return Replay(tuple(tactics[:end]), tuple(kept[:end]), tuple(states))
        if not isinstance(result, TacticState):
            return None
        state = result
    return None


def minimise_proof(session: Session, tactics: Sequence[str], *, timeout: float | None = None,
                   max_tactic_calls: int = 400) -> Replay | None:
    """The 1-minimal subsequence of ``tactics`` that still closes ``session``'s theorem, found greedily
    (front to back; at most ``max_tactic_calls`` tactics run, then the shortest proof so far is kept).
    ``None`` when ``tactics`` itself does not close the proof in this session. ``timeout``: per tactic."""
    budget = _Budget(max_tactic_calls)
    best = _replay(session, list(tactics), list(range(len(tactics))), timeout, budget)
    if best is None:
        return None
    position = 0
    while position < len(best.tactics) and budget.left > 0:
        without = [*best.tactics[:position], *best.tactics[position + 1:]]
        kept = [*best.kept[:position], *best.kept[position + 1:]]
        shorter = _replay(session, without, kept, timeout, budget) if without else None
        if shorter is not None:
            best = shorter  # the same position now holds the next step
        else:
            position += 1
    if budget.left <= 0:
        logger.info("proof minimisation of %s stopped at its budget of %d tactics",
                    session.theorem.name, max_tactic_calls)
    return best
