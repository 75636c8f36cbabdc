"""Where a planned attempt stands, for progress displays: which round, which of the plan's subgoals is being
searched, how many are proved so far.

``prove_with_planner`` calls its ``plan_observer`` with a ``PlanProgress`` whenever the attempt moves on
(asking for a plan, starting a subgoal's search, the main goal's, the fallback search), on the thread that
runs the attempt; the searches themselves go to the search observer (``search.progress``) as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from search.validation import Validated, setting


class PlanStage(Enum):
    """What a planned attempt is doing."""

    PLANNING = "planning"  # asking the planner model for a plan
    SUBGOAL = "subgoal"  # searching for a proof of one subgoal
    MAIN = "main goal"  # searching for the main goal's proof, every subgoal as a hypothesis
    DIRECT = "direct search"  # the fallback search of the whole theorem after planning failed


@dataclass(frozen=True)
class PlanProgress(Validated):
    """One step of a planned attempt. ``round`` counts from 0; ``subgoal`` is the index (from 0) of the
    subgoal being searched, ``subgoals`` the plan's size (0 before a plan), ``proved`` how many of its
    subgoals are proved (searched or reused) so far."""

    config_name = "plan progress"

    stage: PlanStage = field(metadata={"help": "what the attempt does"})
    round: int = setting(0, min=0, help="the planning round, from 0")
    subgoal: int | None = setting(None, min=0, help="the subgoal searched, from 0; none: no subgoal")
    subgoals: int = setting(0, min=0, help="the plan's size (0 before a plan)")
    proved: int = setting(0, min=0, help="the plan's subgoals proved so far")

    def cross_checks(self) -> Iterable[str]:
        if self.proved > self.subgoals:
            yield f"proved must be within 0..{self.subgoals}, got {self.proved}"
        if self.subgoal is not None and self.subgoal >= self.subgoals:
            yield f"subgoal must be within 0..{self.subgoals - 1}, got {self.subgoal}"

    def line(self) -> str:
        """``round 1 · subgoal 2/4 · 1/4 subgoals proved`` (and the like for the other stages)."""
        if self.stage is PlanStage.DIRECT:
            return "direct search after planning"
        parts = [f"round {self.round + 1}"]
        if self.stage is PlanStage.PLANNING:
            parts.append("asking the planner for a plan")
        elif self.stage is PlanStage.SUBGOAL:
            assert self.subgoal is not None
            parts.append(f"subgoal {self.subgoal + 1}/{self.subgoals}")
        else:
            parts.append("main goal")
        if self.subgoals:
            parts.append(f"{self.proved}/{self.subgoals} subgoals proved")
        return " · ".join(parts)


PlanObserver = Callable[[PlanProgress], None]
