"""A plan as plain data: the ``have`` subgoals a planner proposed, and the lines it refused.

A ``Subgoal`` is one ``have NAME [BINDERS] : STATEMENT`` line without a proof (Lean), or one
``assert (NAME : STATEMENT)`` (Coq, ``form="assert"``). Its ``text`` is exactly what
goes to the proof assistant (followed by ``:= by sorry`` to check the plan, by ``:= by`` and the found tactics
in the final proof); it is single-line (parsing collapses whitespace), so a plan renders one subgoal per
line and Lean's error positions map back to subgoals by line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from search.validation import Validated, setting

T = TypeVar("T")


def _one_line(text: str) -> str | None:
    return "statement and binders are one line (parsing collapses whitespace)" if "\n" in text else None


@dataclass(frozen=True)
class Subgoal(Validated):
    """``have name binders : statement``; ``binders`` is usually empty (``have h (x : ℕ) : P x`` has
    ``(x : ℕ)``). ``source`` is the model's line it was read from, for feedback."""

    config_name = "subgoal"

    name: str = setting(nonempty=True, help="the hypothesis the subgoal becomes")
    statement: str = setting(nonblank=True, check=_one_line, help="what it states, on one line")
    binders: str = setting("", check=_one_line, help="binders before the colon, usually none")
    source: str = setting("", help="the model's line it was read from")
    form: str = setting("have", choices=("have", "assert"), help="have (Lean) or assert (Coq)")

    def described(self) -> str:
        return f"subgoal {self.name!r}"

    def cross_checks(self) -> Iterable[str]:
        if self.form == "assert" and self.binders:
            yield f"binders must be empty in an assert subgoal, got {self.binders!r}"

    @property
    def text(self) -> str:
        """The ``have`` (``assert``) tactic without a proof, as the filter and the assistant see it."""
        if self.form == "assert":
            return f"assert ({self.name} : {self.statement})"
        binders = f" {self.binders}" if self.binders else ""
        return f"have {self.name}{binders} : {self.statement}"

    def same_as(self, other: Subgoal) -> bool:
        """Word for word the same subgoal (the text Lean sees; ``source`` is ignored)."""
        return self.text == other.text

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "statement": self.statement, "binders": self.binders, "text": self.text}


@dataclass(frozen=True)
class Rejection:
    """A line of the model's answer that is not used, and why (``line`` is empty for the whole answer)."""

    line: str
    reason: str

    def render(self) -> str:
        return f"{self.line!r}: {self.reason}" if self.line else self.reason

    def as_dict(self) -> dict[str, str]:
        return {"line": self.line, "reason": self.reason}


def _subgoals(subgoals: tuple[Subgoal, ...]) -> str | None:
    if not all(isinstance(s, Subgoal) for s in subgoals):
        return f"subgoals must be Subgoals, got {subgoals!r}"
    repeated = [name for name, count in Counter(s.name for s in subgoals).items() if count > 1]
    return f"subgoals must have distinct names, got {repeated} more than once" if repeated else None


@dataclass(frozen=True)
class Plan(Validated):
    """An ordered tuple of subgoals with distinct names. Subgoal ``i`` may use subgoals ``0..i-1``."""

    config_name = "plan"

    subgoals: tuple[Subgoal, ...] = setting(check=_subgoals, help="the subgoals, in order")

    def __len__(self) -> int:
        return len(self.subgoals)

    def lines(self) -> list[str]:
        return [s.text for s in self.subgoals]

    def render(self) -> str:
        """One ``have`` line per subgoal, as a model is asked to write them."""
        return "\n".join(self.lines())

    def shares_prefix(self, prefix: tuple[Subgoal, ...]) -> bool:
        """Whether this plan starts with ``prefix`` word for word."""
        return len(prefix) <= len(self.subgoals) and all(
            a.same_as(b) for a, b in zip(prefix, self.subgoals, strict=False))

    def as_dict(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.subgoals]


@dataclass(frozen=True)
class PlanParse:
    """What was read from one answer: the plan (possibly empty) and every refused line."""

    plan: Plan
    rejections: tuple[Rejection, ...] = ()

    @property
    def usable(self) -> bool:
        """A plan with at least one subgoal and no refused line (refusals are sent back to the model)."""
        return bool(self.plan.subgoals) and not self.rejections


class PlanCollector:
    """Gathers the subgoals a parser reads, in order: a subgoal whose name or statement is taken is
    refused with that reason; those past ``max_subgoals`` are counted and refused with one reason for
    all of them (a retry message must not grow with the answer)."""

    def __init__(self, max_subgoals: int) -> None:
        self.max_subgoals = max_subgoals
        self.subgoals: list[Subgoal] = []
        self.rejections: list[Rejection] = []
        self._surplus = 0

    def refuse(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)

    def offer(self, read: Subgoal, source: str) -> None:
        """Keep ``read`` (written as ``source`` in the answer), or refuse it."""
        if any(s.name == read.name for s in self.subgoals):
            self.refuse(Rejection(source, f"the name {read.name} is used twice"))
        elif any(s.statement == read.statement and s.binders == read.binders for s in self.subgoals):
            self.refuse(Rejection(source, "the same statement twice"))
        elif len(self.subgoals) >= self.max_subgoals:
            self._surplus += 1
        else:
            self.subgoals.append(read)

    def parse(self, *, none_found: str | None = None) -> PlanParse:
        """The plan and the refusals; ``none_found`` is the reason to add when the answer held no subgoal
        line at all."""
        rejections = list(self.rejections)
        if self._surplus:
            rejections.append(Rejection("", f"more than {self.max_subgoals} subgoals ({self._surplus} left "
                                            "out)"))
        if none_found is not None:
            rejections.append(Rejection("", none_found))
        return PlanParse(Plan(tuple(self.subgoals)), tuple(rejections))


def last_revision(regions: Sequence[T], names_of: Callable[[T], set[str]]) -> list[T]:
    """The fenced regions from the last revision on: a region that declares a name an earlier one
    declared means the model rewrote its plan (a draft, then the final answer)."""
    seen: set[str] = set()
    start = 0
    for index, region in enumerate(regions):
        names = names_of(region)
        if names & seen:
            start, seen = index, set()
        seen |= names
    return list(regions[start:])
