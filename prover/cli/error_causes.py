"""When most tactic errors of a search share one cause, say so (and what usually fixes it).

The typical case: a header without ``Require Import Lia.`` makes every ``lia`` fail with "The reference
lia was not found in the current environment", and a search runs to its budget while almost every tactic
fails the same way. Errors are grouped by cause: an unknown name (Coq's "The reference X was not found",
Lean's "unknown identifier 'X'" / "unknown constant" / "unknown tactic") is one cause, whatever the
name, except a name the theorem's own statement binds (``n`` after ``destruct n`` used it up): that is a
step out of scope, not a missing import. Any other message is its own cause, by its first line. Proofs that
whole-proof verification rejected (an axiom outside the allowed list, say) are named apart:
``rejection_of``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

MIN_ERRORS = 2  # fewer errors than this say nothing
SHARE = 0.5  # the cause must account for more than this share of the errors

_UNKNOWN_NAME = (
    re.compile(r"The reference (?P<name>\S+) was not found in the current environment"),
    re.compile(r"unknown (?:identifier|constant) '(?P<name>[^']+)'"),
    re.compile(r"unknown tactic(?: '(?P<name>[^']+)')?"),
)
# Coq tactics that live in a library the header must load
COQ_LIBRARIES = {"lia": "Lia", "nia": "Lia", "psatz": "Psatz", "lra": "Lra", "nra": "Psatz",
                 "ring": "Arith", "ring_simplify": "Arith"}


@dataclass(frozen=True)
class ErrorCause:
    """``count`` of the search's ``total`` tactic errors share ``cause``; ``names``: the unknown names
    with their counts, most frequent first (empty for other causes); ``hint``: what usually fixes it."""

    cause: str
    count: int
    total: int
    names: tuple[tuple[str, int], ...] = ()
    hint: str = ""

    def sentence(self) -> str:
        text = f"{self.count} of {self.total} tactic errors share one cause: {self.cause}"
        if self.names:
            text += " (" + ", ".join(f"{name} ×{count}" for name, count in self.names[:5]) + ")"
        text = text.rstrip(". ")  # a cause that is a message of its own may end in a full stop
        return text + (f". {self.hint}" if self.hint else ".")

    def as_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "count": self.count, "total": self.total,
                "names": [list(pair) for pair in self.names], "hint": self.hint}


def _cause(message: str) -> tuple[str, str | None]:
    """The cause of one error message, and the unknown name when it is one."""
    flat = " ".join(message.split())  # Coq wraps long messages ("... in the current\nenvironment.")
    for pattern in _UNKNOWN_NAME:
        match = pattern.search(flat)
        if match is not None:
            return "unknown name", match.groupdict().get("name") or "?"
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return first, None


def _hint(names: Counter[str]) -> str:
    libraries = sorted({COQ_LIBRARIES[name] for name in names if name in COQ_LIBRARIES})
    if libraries:
        loads = " ".join(f"`Require Import {library}.`" for library in libraries)
        return f"A missing import? Add {loads} to the header (--header), or use tactics that need none"
    return "A missing import, or a name the header does not define? Check the header (--header)"


_WORD = re.compile(r"[^\W\d][\w'.]*")
OUT_OF_SCOPE = "a name of the statement that the step no longer had in scope"


def common_error_cause(messages: list[str], bound: frozenset[str] = frozenset()) -> ErrorCause | None:
    """The cause shared by more than half of ``messages`` (the search's tactic errors), or ``None``;
    ``bound``: the names the theorem's statement binds, which are never a missing import."""
    if len(messages) < MIN_ERRORS:
        return None
    causes: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for message in messages:
        cause, name = _cause(message)
        if name is not None and name in bound:
            cause, name = OUT_OF_SCOPE, None
        causes[cause] += 1
        if name is not None:
            names[name] += 1
    cause, count = causes.most_common(1)[0]
    if count <= SHARE * len(messages):
        return None
    if cause == "unknown name":
        return ErrorCause("a name the proof assistant does not know", count, len(messages),
                          tuple(names.most_common()), _hint(names))
    return ErrorCause(cause, count, len(messages))


RETRIEVED_NAMES = ("The retrieval policy copies tactics from proofs in other files, whose lemmas this "
                   "theorem's environment need not load: usual for retrieval, a missing import only if the "
                   "theorem needs those lemmas")


def error_cause_of(result: Any, policy_kind: str = "") -> ErrorCause | None:
    """``common_error_cause`` of the tactic errors in a ``SearchResult``'s graph, or in every search of a
    planned proof (``PlannedResult``: each round's subgoals and main step, and the fallback search).
    ``policy_kind`` ``retrieval``: unknown names are explained as the corpus's, not the header's."""
    cause = _error_cause_of(result)
    if cause is not None and cause.names and policy_kind == "retrieval":
        return replace(cause, hint=RETRIEVED_NAMES)
    return cause


def _error_cause_of(result: Any) -> ErrorCause | None:
    from search import Outcome

    graphs = [getattr(result, "graph", None)]
    for plan_round in getattr(result, "rounds", ()):
        outcomes = (*plan_round.subgoals, plan_round.main)
        graphs += [outcome.graph for outcome in outcomes if outcome is not None]
    direct = getattr(result, "direct", None)
    graphs.append(getattr(direct, "graph", None))
    messages = [edge.message or "" for graph in graphs if graph is not None
                for edge in graph.edges if edge.outcome is Outcome.ERROR]
    bound = frozenset(word for graph in graphs if graph is not None
                      for word in _WORD.findall(graph.nodes[0].state.pp))
    return common_error_cause(messages, bound) if any(graph is not None for graph in graphs) else None


def rejection_of(result: Any) -> str | None:
    """When the search found proofs that verification rejected: how many and the most common reason
    (``None`` when it rejected none)."""
    from search import Outcome

    graph = getattr(result, "graph", None)
    if graph is None:
        return None
    reasons = Counter(" ".join((edge.message or "verification failed").split())[:300]
                      for edge in graph.edges if edge.outcome is Outcome.UNVERIFIED)
    if not reasons:
        return None
    reason, _ = reasons.most_common(1)[0]
    count = sum(reasons.values())
    return f"{count} proof{'s' if count > 1 else ''} found but rejected by verification: {reason}"
