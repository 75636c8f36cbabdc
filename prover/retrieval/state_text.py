"""Reading a state's text (Coq's canonical ``pp`` or Lean's goals) into the first goal's hypotheses and
conclusion, and turning it into the tokens the retrieval index compares.

Coq states use ``search.backends.coq.goal_view`` (the bar of ``=``); Lean states are LeanDojo's format
(hypothesis lines ``a b : T``, the conclusion after ``⊢``, goals separated by a blank line). Unknown text
gives a goal with no hypotheses and the whole text as conclusion, never an error.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from search.backends.coq.goal_view import first_goal

_LEAN_HYP = re.compile(r"^([^\s:⊢][^:]*?) : (.*)$")
_IDENT = re.compile(r"[^\W\d][\w'.]*|\d+")
_TOKEN = re.compile(r"[^\W\d][\w'.]*|\d+|[^\w\s(),]+")
_PROP_SYMBOLS = re.compile(r"=|<|>|/\\|\\/|->|→|↔|∧|∨|¬|~|\b(?:forall|exists|True|False)\b|∀|∃")


@dataclass(frozen=True)
class Goal:
    """A goal's hypotheses ``(name, type)`` in context order and its conclusion."""

    hypotheses: tuple[tuple[str, str], ...]
    conclusion: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.hypotheses)


def parse_goal(pp: str) -> Goal:
    """The first goal of a Coq or Lean state text."""
    if "=====" in pp:
        view = first_goal(pp)
        if view is not None:
            return Goal(view.hypotheses, view.conclusion)
    if "⊢" in pp:
        return _lean_goal(pp.split("\n\n")[0])
    return Goal((), " ".join(pp.split()))


def _lean_goal(text: str) -> Goal:
    hypotheses: list[tuple[str, str]] = []
    conclusion: list[str] = []
    in_conclusion = False
    for line in text.split("\n"):
        if line.startswith("⊢"):
            in_conclusion = True
            conclusion.append(line[1:].strip())
        elif in_conclusion:
            conclusion.append(line.strip())
        elif line.startswith("case "):
            continue
        elif (match := _LEAN_HYP.match(line)) is not None:
            hypotheses.extend((name, match.group(2).strip()) for name in match.group(1).split())
        elif hypotheses and line.startswith(" "):
            name, typ = hypotheses[-1]
            hypotheses[-1] = (name, f"{typ} {line.strip()}")
    return Goal(tuple(hypotheses), " ".join(conclusion))


def tokens(text: str) -> list[str]:
    """Identifiers (whole, and the parts of qualified names), numerals and symbol runs."""
    out: list[str] = []
    for token in _TOKEN.findall(text):
        out.append(token)
        if "." in token.strip("."):
            out.extend(part for part in token.split(".") if part)
    return out


def identifiers(text: str) -> list[str]:
    return _IDENT.findall(text)


def is_prop(typ: str) -> bool:
    """Whether a hypothesis type reads as a proposition (a proof to use) rather than data."""
    return _PROP_SYMBOLS.search(typ) is not None


def features(pp: str) -> list[str]:
    """The features of a state: conclusion tokens and bigrams, hypothesis-type tokens, the conclusion's
    head, each local name written as its role (``<hyp>``/``<var>``) so that names do not split states."""
    goal = parse_goal(pp)
    roles = {name: "<hyp>" if is_prop(typ) else "<var>" for name, typ in goal.hypotheses}
    conclusion = [roles.get(t, t) for t in tokens(goal.conclusion)]
    out = [f"g:{t}" for t in conclusion]
    out += [f"gb:{a}_{b}" for a, b in itertools.pairwise(conclusion)]
    if conclusion:
        out.append(f"head:{conclusion[0]}")
    for name, typ in goal.hypotheses:
        out.append(f"hk:{roles[name]}")
        out += [f"h:{roles.get(t, t)}" for t in tokens(typ)]
    return out
