"""What planning needs from a proof assistant beyond ``search.Backend``: checking a plan and opening its
subgoals. Implemented for the Lean REPL (``planner.lean_plan`` over ``search.backends.lean.repl_plan``) and
by the scripted test environments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from search.errors import ProverError
from search.protocols import Session
from search.types import Theorem
from search.validation import Validated, setting


@dataclass(frozen=True)
class PlanProblem:
    """Why a plan does not elaborate: ``index`` is the 0-based subgoal Lean blamed (``None``: the plan as a
    whole, e.g. the main goal or a missing ``sorry``); ``message`` is the assistant's text."""

    index: int | None
    message: str


@dataclass(frozen=True)
class PlanCheck(Validated):
    """The outcome of elaborating ``have h_i : s_i := by sorry`` for every subgoal, in order, in the
    theorem's context. When ``ok``: ``goals`` holds one pretty-printed goal per subgoal (in the theorem's
    context plus the earlier subgoals) and last the main goal with every subgoal in context, so
    ``len(goals) == len(subgoals) + 1``; ``problems`` is empty. Otherwise ``problems`` says why."""

    config_name = "plan check"

    ok: bool = setting(help="whether the plan elaborated")
    goals: tuple[str, ...] = setting((), help="per subgoal its goal, then the main goal (when ok)")
    problems: tuple[PlanProblem, ...] = setting((), help="why the plan was refused (when not ok)")

    def cross_checks(self) -> Iterable[str]:
        if self.ok and self.problems:
            yield "problems must be empty for an accepted plan"
        if not self.ok and not self.problems:
            yield "problems must hold at least one problem for a refused plan"


class PlanNotOpened(ProverError):
    """The assistant failed on a plan that had checked when its subgoals were opened (it timed out,
    crashed or outgrew its memory limit on the plan's own text): the round fails with this message, which
    the model reads in the re-plan, and planning goes on."""


@runtime_checkable
class PlanBackend(Protocol):
    """Checks plans and opens one session per subgoal.

    Contract:
    - ``check_plan(theorem, haves, time_left=None)``: ``haves`` are ``have NAME : STATEMENT`` texts without
      proofs that already passed the tactic safety filter. Returns a ``PlanCheck``; Lean's refusals are a
      ``PlanCheck`` with problems, never exceptions, and so is the assistant's failure on the plan's own
      text (a timeout, a crash): it goes back to the model. Raises ``InvalidTheoremError`` when the theorem
      itself does not open and ``BackendUnavailableError`` when the assistant cannot run.
    - ``open_subgoals(theorem, haves, time_left=None)``: for a plan that checked ``ok``, ``len(haves) + 1``
      sessions: the initial state of session ``i < len(haves)`` is subgoal ``i`` with subgoals ``0..i-1`` as
      hypotheses; the last session's is the main goal with all of them. The caller closes every session.
      Raises like ``check_plan``, ``PlanNotOpened`` when the assistant fails on the plan (now, or when a
      session opened on first use opens), and ``ValueError`` when the plan does not elaborate.
    - ``time_left``: seconds the planned attempt has left (``None``: no limit); the backend cuts the limits
      of the commands it runs for the call to it.
    """

    def check_plan(self, theorem: Theorem, haves: Sequence[str], *,
                   time_left: float | None = None) -> PlanCheck: ...

    def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                      time_left: float | None = None) -> list[Session]: ...
