"""What a REPL answer means for the search: the one place that turns answers into results.

The rules for a tactic answer, in order (each is a trap the recorded sessions show):

1. ``{"message": ...}`` (the tactic threw, or the proof state is unknown) -> ``TacticError``.
2. Any message of severity error -> ``TacticError``, even with ``"goals": []``: Lean recovers from
   some errors, closes the goal with an error term and still answers ``goals: []``.
3. Any ``sorries`` in the answer -> ``TacticError``: the tactic used ``sorry`` (e.g. ``have h : p := by
   sorry``), which no proof may contain.
4. ``goals == []``: the proof is finished only when ``proofStatus`` is ``"Completed"``, or absent (REPL
   versions before mid-2025 do not send it). ``"Incomplete: contains metavariable(s)"``,
   ``"Error: kernel type check failed ..."`` and the rest are ``TacticError``.
5. Otherwise -> ``TacticState`` whose ``pp`` is the goals joined by a blank line (LeanDojo's format).

Warnings and infos (linters, ``Try this``) never change the outcome.
"""

from __future__ import annotations

import re

from search.backends.lean.repl_messages import (
    CommandResponse,
    Message,
    ReplError,
    ReplResponse,
    Severity,
    TacticResponse,
    errors,
)
from search.types import ProofFinished, TacticError, TacticResult, TacticState

COMPLETED = "Completed"
GOAL_SEPARATOR = "\n\n"
SORRY_WARNING = re.compile(r"declaration uses ['`]sorry['`]")
_UNKNOWN_STATE = "unknown proof state"


def goals_pp(goals: tuple[str, ...]) -> str:
    """The pretty-printed state: goals separated by a blank line, as LeanDojo prints them."""
    return GOAL_SEPARATOR.join(goals)


def tactic_outcome(response: ReplResponse) -> TacticResult:
    """Map the answer to a tactic onto our result (without a handle; the session adds it)."""
    if isinstance(response, ReplError):
        return TacticError(response.message)
    if not isinstance(response, TacticResponse):
        return TacticError(f"the REPL answered a tactic with a command answer: {response!r:.300}")
    failed = errors(response.messages)
    if failed:
        return TacticError(join_messages(failed))
    if response.sorries:
        goals = "; ".join(s.goal for s in response.sorries)
        return TacticError(f"the tactic uses sorry (goals left at the sorry: {goals})")
    if not response.goals:
        if response.proof_status is None or response.proof_status == COMPLETED:
            infos = [m.data for m in response.messages if m.severity is Severity.INFO]
            return ProofFinished(message="\n".join(infos) or None)
        return TacticError(f"no goals left, but Lean says: {response.proof_status}")
    return TacticState(goals_pp(response.goals), response.goals)


def is_unknown_proof_state(response: ReplResponse) -> bool:
    """The REPL does not know the proof state it was asked about (a bookkeeping fault, not Lean's)."""
    return isinstance(response, ReplError) and _UNKNOWN_STATE in response.message.lower()


def join_messages(messages: tuple[Message, ...]) -> str:
    return "\n".join(m.data for m in messages)


def command_problems(response: ReplResponse) -> list[str]:
    """Why a command that must be a complete, sorry-free declaration is not: errors, sorries, the
    ``declaration uses 'sorry'`` warning (quoted with ' before Lean 4.2x, with ` after). Empty when fine."""
    if isinstance(response, ReplError):
        return [response.message]
    if not isinstance(response, CommandResponse):
        return [f"the REPL answered a command with a tactic answer: {response!r:.300}"]
    problems = [m.render() for m in errors(response.messages)]
    problems += [m.render() for m in response.messages
                 if m.severity is Severity.WARNING and SORRY_WARNING.search(m.data)]
    if response.sorries:
        problems.append(f"the proof contains {len(response.sorries)} sorry")
    if response.env is None:
        problems.append("the REPL returned no environment")
    return problems
