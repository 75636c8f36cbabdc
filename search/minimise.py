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


def minimise_proof(session: Session, tactics: Sequence[str], *, timeout: float | None = None,
                   max_tactic_calls: int = 400) -> Replay | None:
    """The 1-minimal subsequence of ``tactics`` that still closes ``session``'s theorem, found greedily
    (passes front to back until one deletes nothing, since a later deletion can make an earlier step
    removable; at most ``max_tactic_calls`` tactics run for deletions, besides the replay of the proof
    itself, then the shortest proof so far is kept). ``None`` when ``tactics`` itself does not close the
    proof in this session. ``timeout``: per tactic.

    A deletion at position p runs only the steps after it, from the state the kept steps before p reach
    (the session answers for any state it returned earlier), never the prefix again."""
    left = max_tactic_calls

    def close(start: TacticState, steps: Sequence[str], *, budgeted: bool = True) -> list[TacticState] | None:
        """The states before each of ``steps`` run from ``start`` up to the one that closes the proof;
        ``None`` when no step closes it (or the budget runs out)."""
        nonlocal left
        state, before = start, []
        for tactic in steps:
            if budgeted:
                if left <= 0:
                    return None
                left -= 1
            before.append(state)
            result = session.run_tactic(state, tactic, timeout=timeout)
            if isinstance(result, ProofFinished):
                return before
            if not isinstance(result, TacticState):
                return None
            state = result
        return None

    states = close(session.initial_state(), tactics, budgeted=False)
    if states is None:
        return None
    proof, kept = list(tactics[:len(states)]), list(range(len(states)))
    deleted = True
    while deleted and left > 0:
        deleted, position = False, 0
        while position < len(proof) - 1 and left > 0:  # the last step closes the proof: it always stays
            rest = close(states[position], proof[position + 1:])
            if rest is not None:  # the same position now holds the next step
                end = position + 1 + len(rest)
                proof = proof[:position] + proof[position + 1:end]
                kept = kept[:position] + kept[position + 1:end]
                states, deleted = states[:position] + rest, True
            else:
                position += 1
    if left <= 0:
        logger.info("proof minimisation of %s stopped at its budget of %d tactics",
                    session.theorem.name, max_tactic_calls)
    return Replay(tuple(proof), tuple(kept), tuple(state.pp for state in states))
