"""Reading the first goal back out of a Coq session's canonical state text.

A policy sees only ``TacticState.pp`` (see ``goals.py`` for its layout). This module recovers the first
goal's hypotheses (name and type) and conclusion, and finds the top-level connective of a proposition, so
that state-dependent candidates (``induction n``, ``rewrite IHn``, ``split`` ...) can be proposed without a
Coq parser. It is a heuristic reader: unknown text gives fewer candidates, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_BAR = re.compile(r"^\s*={5,}\s*$")
_NAME = r"[^\W\d][\w']*"  # a Coq identifier: a letter (σ, h₀'s h) or _, then letters, digits, _ and '
_HYP = re.compile(rf"^  ({_NAME}(?:, {_NAME})*) : (.*)$")
_LET = re.compile(rf"^  ({_NAME}) := (.*)$")  # a local definition: ``name := value : type``
_OPEN = "([{"
_CLOSE = ")]}"


@dataclass(frozen=True)
class GoalView:
    """The first goal: hypotheses as ``(name, type)`` in context order, and the conclusion."""

    hypotheses: tuple[tuple[str, str], ...]
    conclusion: str


def first_goal(pp: str) -> GoalView | None:
    """Parse the first goal of ``pp``; ``None`` when the text has no goal bar."""
    lines = pp.split("\n")
    bar = next((i for i, line in enumerate(lines) if _BAR.match(line)), None)
    if bar is None:
        return None
    entries: list[tuple[list[str], str, bool]] = []  # names, text, whether a local definition
    for line in lines[1:bar]:
        let = _LET.match(line)
        match = None if let is not None else _HYP.match(line)
        if let is not None:
            entries.append(([let.group(1)], let.group(2).strip(), True))
        elif match is not None:
            entries.append((match.group(1).split(", "), match.group(2).strip(), False))
        elif entries and line.startswith("   "):  # a long type (or value) wrapped onto the next line
            names, text, is_let = entries[-1]
            entries[-1] = (names, f"{text} {line.strip()}", is_let)
    hypotheses = [(name, _let_type(text) if is_let else text) for names, text, is_let in entries
                  for name in names]
    conclusion_lines: list[str] = []
    for line in lines[bar + 1:]:
        if not line.strip():
            break
        conclusion_lines.append(line.strip())
    return GoalView(tuple(hypotheses), " ".join(conclusion_lines))


def _let_type(text: str) -> str:
    """The type of a local definition's ``value : type``: after its last top-level `` : `` (a heuristic:
    a type with a binder of its own, ``forall x : A, ...``, is cut at that binder)."""
    at = max(_top_level_at(text, " : "), default=-1)
    return text[at + 3:].strip() if at >= 0 else text


def _top_level_at(text: str, operator: str) -> Iterator[int]:
    """Where ``operator`` occurs in ``text`` outside every bracket, in order."""
    depth = 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith(operator, i):
            yield i


def top_level(text: str, operator: str) -> bool:
    """Whether ``operator`` occurs in ``text`` outside every bracket (a crude precedence check)."""
    return next(_top_level_at(text, operator), None) is not None


def is_quantified(text: str) -> bool:
    """A proposition that ``intros`` can open: ``forall``, ``->`` or ``~`` on top."""
    stripped = text.lstrip()
    return stripped.startswith(("forall ", "~")) or top_level(stripped, " -> ")


def is_equation(text: str) -> bool:
    """A (possibly quantified or conditional) equation: something ``rewrite`` can use; not an
    existential, a conjunction or a disjunction that has an equation inside."""
    body = text
    while body.startswith("forall "):
        comma = body.find(", ")
        if comma < 0:
            return False
        body = body[comma + 2:]
    last = body.split(" -> ")[-1].strip()
    if last.startswith("exists ") or any(top_level(last, op) for op in ("/\\", "\\/", "<->")):
        return False
    return top_level(last, " = ")


def mentions(text: str, name: str) -> bool:
    """Whether the identifier ``name`` occurs in ``text`` as a whole word."""
    return re.search(rf"(?<![\w']){re.escape(name)}(?![\w'])", text) is not None
