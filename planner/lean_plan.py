"""``PlanBackend`` for the Lean REPL backend, over ``search.backends.lean.repl_plan``; and the choice of a
plan backend for any ``search.Backend``."""

from __future__ import annotations

from collections.abc import Sequence

from planner.errors import PlanningUnsupportedError
from planner.protocols import PlanBackend, PlanCheck, PlanNotOpened, PlanProblem
from search.backends.lean.repl_backend import LeanReplBackend
from search.backends.lean.repl_plan import PlanCommandFailed, check_plan, open_plan_sessions
from search.protocols import Backend, Session
from search.types import Theorem


class LeanReplPlanBackend:
    """Plans checked and subgoals opened in the REPL pool of ``backend`` (sessions share its processes)."""

    assistant = "lean"

    def __init__(self, backend: LeanReplBackend) -> None:
        self.backend = backend

    def check_plan(self, theorem: Theorem, haves: Sequence[str], *,
                   time_left: float | None = None) -> PlanCheck:
        elaboration = check_plan(self.backend.pool, theorem, haves, config=self.backend.config,
                                 time_left=time_left)
        if elaboration.ok:
            return PlanCheck(True, elaboration.goals)
        return PlanCheck(False, problems=tuple(PlanProblem(i, m) for i, m in elaboration.problems))

    def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                      time_left: float | None = None) -> list[Session]:
        try:
            return list(open_plan_sessions(self.backend.pool, theorem, haves, config=self.backend.config,
                                           time_left=time_left))
        except PlanCommandFailed as exc:
            raise PlanNotOpened(exc.problem) from exc


def plan_backend_for(backend: Backend) -> PlanBackend:
    """The backend itself when it implements ``PlanBackend``; the REPL adapter for ``LeanReplBackend``;
    the coqtop adapter for ``CoqBackend``. Raises ``PlanningUnsupportedError`` for any other (LeanDojo)."""
    if isinstance(backend, PlanBackend):
        return backend
    if isinstance(backend, LeanReplBackend):
        return LeanReplPlanBackend(backend)
    from search.backends.coq import CoqBackend

    if isinstance(backend, CoqBackend):
        from planner.coq_plan import CoqPlanBackend

        return CoqPlanBackend(backend)
    raise PlanningUnsupportedError(getattr(backend, "name", type(backend).__name__))
