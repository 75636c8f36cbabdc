"""What a planned attempt returns: every round's plan, each subgoal's outcome, the verified proof.

Frozen data with an explicit stop reason; ``PlannedResult.as_dict()`` is the JSON-ready record a sweep
stores (same top-level keys as ``SearchResult.as_dict()`` plus ``planner``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from planner.plan import Plan, Rejection
from planner.protocols import PlanProblem
from search.graph import SearchGraph
from search.result import Proof, SearchResult, SearchStats
from search.types import Verdict

ANSWER_EXCERPT_CHARS = 4000  # of each model answer kept in records


class PlanStopReason(Enum):
    """Why a planned attempt ended."""

    PROVED = "proved"  # every subgoal and the main goal proved, and the whole proof verified
    NO_VALID_PLAN = "no_valid_plan"  # no answer of the last round parsed and elaborated
    UNPROVED = "unproved"  # a subgoal or the main goal stayed unproved and the re-plans are used up
    VERIFY_FAILED = "verify_failed"  # every piece was proved but the assembled proof was rejected
    TIME_BUDGET = "time_budget"  # the whole attempt's time limit ran out


@dataclass(frozen=True)
class PlanAttempt:
    """One answer of the planner model and what became of it; ``seconds`` is the model's time."""

    answer: str
    plan: Plan
    rejections: tuple[Rejection, ...] = ()
    problems: tuple[PlanProblem, ...] = ()  # Lean's, when the plan parsed but did not elaborate
    accepted: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"answer": self.answer[:ANSWER_EXCERPT_CHARS], "plan": self.plan.as_dict(),
                "rejections": [r.as_dict() for r in self.rejections],
                "problems": [{"subgoal": p.index, "message": p.message} for p in self.problems],
                "accepted": self.accepted, "seconds": round(self.seconds, 4)}


@dataclass(frozen=True)
class SubgoalOutcome:
    """The search for one subgoal (``index`` in the plan) or for the main goal (``index == -1``).

    ``stop_reason`` is the search's (``proved``, ``exhausted``, ``expansion_budget``, ``time_budget``) or
    ``reused`` for a subgoal proved in an earlier round (same text, same earlier subgoals). ``graph`` is
    the search's explored graph (none for a reused subgoal); ``as_dict`` leaves it out."""

    index: int
    text: str  # the ``have`` line, or "main goal"
    goal: str  # the pretty-printed state the search started from
    stop_reason: str
    tactics: tuple[str, ...] | None = None
    stats: SearchStats | None = field(default=None, compare=False)
    graph: SearchGraph | None = field(default=None, compare=False, repr=False)

    @property
    def proved(self) -> bool:
        return self.tactics is not None

    @property
    def is_main(self) -> bool:
        return self.index < 0

    def as_dict(self) -> dict[str, Any]:
        tactics = None if self.tactics is None else list(self.tactics)
        return {"index": self.index, "text": self.text, "goal": self.goal, "proved": self.proved,
                "stop_reason": self.stop_reason, "tactics": tactics,
                "expansions": None if self.stats is None else self.stats.expansions}


@dataclass(frozen=True)
class PlanRound:
    """One plan and the searches it led to. ``failure`` says what ended the round short of a proof (it is
    the feedback of the next round's re-plan)."""

    number: int  # 0 for the first plan, then one per re-plan
    attempts: tuple[PlanAttempt, ...]
    plan: Plan | None  # the accepted plan, if any
    subgoals: tuple[SubgoalOutcome, ...] = ()
    main: SubgoalOutcome | None = None
    verdict: Verdict | None = None
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        verdict = None if self.verdict is None else {"ok": self.verdict.ok,
                                                     "messages": list(self.verdict.messages)}
        return {"round": self.number, "plan": None if self.plan is None else self.plan.as_dict(),
                "attempts": [a.as_dict() for a in self.attempts],
                "subgoals": [s.as_dict() for s in self.subgoals],
                "main": None if self.main is None else self.main.as_dict(), "verdict": verdict,
                "failure": self.failure}


@dataclass
class PlannerStats:
    """Counters of one planned attempt; seconds are wall-clock."""

    rounds: int = 0
    planner_calls: int = 0  # answers asked of the planner model
    planner_seconds: float = 0.0
    plans_refused: int = 0  # answers that did not parse or did not elaborate
    searches: int = 0  # subgoal and main-goal searches run
    subgoals_proved: int = 0  # by a search (reuse not counted)
    subgoals_reused: int = 0
    subgoals_failed: int = 0
    wall_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_stats(total: SearchStats, part: SearchStats) -> None:
    """Add every counter of ``part`` to ``total`` (in place)."""
    for item in fields(SearchStats):
        setattr(total, item.name, getattr(total, item.name) + getattr(part, item.name))


@dataclass(frozen=True)
class PlannedResult:
    """The result of ``prove_with_planner``. ``stop_reason`` says how planning ended; ``direct`` is the
    fallback search of the whole theorem run after planning failed (``PlannerConfig.direct_fallback``).
    ``proof`` is set only when the whole proof verified, from a plan or from the fallback; ``search`` adds
    up every search's counters, the fallback's included."""

    theorem: str
    stop_reason: PlanStopReason
    proof: Proof | None
    rounds: tuple[PlanRound, ...]
    stats: PlannerStats
    search: SearchStats
    direct: SearchResult | None = None

    @property
    def proved(self) -> bool:
        return self.stop_reason is PlanStopReason.PROVED or (self.direct is not None and self.direct.proved)

    @property
    def proved_directly(self) -> bool:
        return self.stop_reason is not PlanStopReason.PROVED and self.proved

    @property
    def plan(self) -> Plan | None:
        """The last accepted plan."""
        return next((r.plan for r in reversed(self.rounds) if r.plan is not None), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``theorem``, ``proved``, ``stop_reason`` (``proved`` for a proof from either way, else
        planning's), ``proof`` and ``stats`` as ``SearchResult.as_dict()`` has them, plus ``planner``: how
        planning ended, the last plan, every round, the counters, and the fallback search's outcome."""
        proof = None
        if self.proof is not None:
            proof = {"tactics": list(self.proof.tactics), "text": self.proof.text,
                     "axioms": list(self.proof.verdict.axioms)}
        plan = self.plan
        direct = None
        if self.direct is not None:
            direct = {"proved": self.direct.proved, "stop_reason": self.direct.stop_reason.value,
                      "expansions": self.direct.stats.expansions}
        stop_reason = PlanStopReason.PROVED.value if self.proved else self.stop_reason.value
        return {"theorem": self.theorem, "proved": self.proved, "stop_reason": stop_reason,
                "proof": proof, "stats": self.search.as_dict(),
                "planner": {"stop_reason": self.stop_reason.value,
                            "plan": None if plan is None else plan.as_dict(),
                            "rounds": [r.as_dict() for r in self.rounds], "stats": self.stats.as_dict(),
                            "direct": direct}}
