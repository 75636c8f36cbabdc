"""``PlanBackend`` for the Coq backend: plans checked and subgoals opened in coqtop.

A plan ``assert (h_0 : S_0). ... assert (h_{n-1} : S_{n-1}).`` is checked by running the asserts one after
the other, each on the goal of the theorem itself (``k: assert ...`` with ``k`` its position after the
earlier asserts), so that Coq type-checks ``S_k`` with the theorem's context and ``h_0 .. h_{k-1}``. The
goals then are ``S_0 .. S_{n-1}`` (each with the earlier facts in context) and the theorem's own goal with
all of them: one per subgoal, then the main goal, as ``PlanCheck`` wants them.

A subgoal's session runs the same asserts, then focuses its goal with ``k: {``; closing that goal finishes
the session's proof (``CoqSession(focused=True)``). The assembled proof (``planned_tactics``) is linear:
each assert, then its proof, since the asserted fact is the focused goal until its proof closes it.

Coq's failures on the plan's own text are the plan's, never the attempt's end: an assert that times out or
crashes coqtop while the plan is checked is a problem for the model (``CoqSession.run_tactic`` answers
them as results); one that does so when a fact's session opens (its prefix runs under ``start_timeout``)
raises ``PlanNotOpened``, which fails the round. The check runs each assert under ``tactic_timeout`` cut
to the attempt's time left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from planner.protocols import PlanCheck, PlanNotOpened, PlanProblem
from search.backends.coq import CoqBackend, CoqSession, check_coq_tactic
from search.backends.process import ProcessError
from search.protocols import Session
from search.types import TacticResult, TacticState, Theorem

_ALL_GOALS = re.compile(r"\s*(?:all|par|!)\s*:(?!=)")


class CoqPlanBackend:
    """Plans of ``assert`` subgoals for ``backend``'s theorems (one coqtop per check and per subgoal)."""

    assistant = "coq"

    def __init__(self, backend: CoqBackend) -> None:
        self.backend = backend

    def check_subgoal_tactic(self, tactic: str) -> str | None:
        """The Coq filter, and no ``all:``/``par:``/``!:`` selector: in the linear assembled proof it would
        also act on (or, ``!:``, fail for) the goals after the fact (the theorem's own), which its focused
        session does not show."""
        reason = check_coq_tactic(tactic)
        if reason is None and _ALL_GOALS.match(tactic):
            return "an all-goals selector is not allowed in the proof of a planned fact"
        return reason

    def check_plan(self, theorem: Theorem, haves: Sequence[str], *,
                   time_left: float | None = None) -> PlanCheck:
        deadline = None if time_left is None else time.monotonic() + time_left
        session = CoqSession(theorem, self.backend.config)
        try:
            state = session.initial_state()
            for index, sentence in enumerate(_chain(haves)):
                limit = self.backend.config.tactic_timeout
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return PlanCheck(False, problems=(PlanProblem(index, _NO_TIME),))
                    limit = min(limit, left)
                result = session.run_tactic(state, sentence, timeout=limit)
                if not isinstance(result, TacticState):
                    return PlanCheck(False, problems=(PlanProblem(index, _message(result)),))
                state = result
        finally:
            session.close()
        if len(state.goals) != len(haves) + 1:
            return PlanCheck(False, problems=(PlanProblem(None, f"expected {len(haves) + 1} goals after the "
                                                               f"asserts, Coq shows {len(state.goals)}"),))
        return PlanCheck(True, tuple(state.goals))

    def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                      time_left: float | None = None) -> list[Session]:
        """The facts' sessions, each opened on first use (``time_left`` does not apply: nothing runs
        now)."""
        for have in haves:  # the prefix is sent as it is: never unchecked text
            reason = check_coq_tactic(have)
            if reason is not None:
                raise ValueError(f"refused by the Coq safety filter: {have!r}: {reason}")
        chain = [f"{sentence}." for sentence in _chain(haves)]
        config = self.backend.config

        def opener(position: int) -> Callable[[], Session]:
            # fact k sits after the first k asserts: later ones need not run; the main goal after all
            def open_session() -> Session:
                try:
                    prefix = [*chain[:position], f"{position}: {{"]
                    return CoqSession(theorem, config, prefix=prefix, focused=True)
                except ProcessError as exc:  # coqtop hung or died on the plan's asserts
                    what = "the main goal" if position > len(haves) else f"fact {position}"
                    raise PlanNotOpened(f"Coq failed on the plan's asserts while opening {what}: {exc}") \
                        from exc

            return open_session

        return [OnFirstUse(theorem, opener(position)) for position in range(1, len(haves) + 2)]


class OnFirstUse:
    """A session opened when it is first used: a plan's facts are opened one by one, as their searches come,
    so that an attempt whose time runs out (or whose first fact fails) never starts the others' coqtops."""

    def __init__(self, theorem: Theorem, open_session: Callable[[], Session]) -> None:
        self.theorem = theorem
        self._open = open_session
        self._session: Session | None = None

    def _opened(self) -> Session:
        if self._session is None:
            self._session = self._open()
        return self._session

    def initial_state(self) -> TacticState:
        return self._opened().initial_state()

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        return self._opened().run_tactic(state, tactic, timeout=timeout)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _chain(haves: Sequence[str]) -> list[str]:
    """The asserts, each on the theorem's own goal: it sits after the ``k`` goals asserted before it."""
    return [have if k == 0 else f"{k + 1}: {have}" for k, have in enumerate(haves)]


_NO_TIME = "the attempt's time ran out before Coq checked this assert"


def _message(result: object) -> str:
    return str(getattr(result, "message", None) or result)
