"""A planned attempt when the proof assistant fails on a plan, and when its time runs out: a plan that does
not open fails its round (never the attempt), the plan backend's calls get only the attempt's time left,
and found proofs are still checked past it (with a floor for a subgoal's replay)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from planner_worlds import (
    GOOD,
    PLANNER,
    SEARCH,
    STUCK,
    THEOREM,
    ListClient,
    ScriptedPlanBackend,
    fenced,
    policy,
)
from scripted import ScriptedSession

from planner import (
    PlannedResult,
    PlannerClient,
    PlannerConfig,
    PlanNotOpened,
    PlanStopReason,
    prove_with_planner,
    replay_verifier,
)
from planner.coq_plan import CoqPlanBackend
from planner.planning import UNCHECKED_REASON
from planner.subgoal_search import REPLAY_FLOOR_S
from search import Session, Theorem
from search.backends.coq import CoqBackendConfig
from search.backends.process import ProcessTimeout
from search.types import ProofFinished, TacticResult, TacticState

HUNG = "Lean did not answer the plan within 2 s"


def planned(backend: ScriptedPlanBackend, client: PlannerClient, now: list[float] | None = None,
            **settings: Any) -> PlannedResult:
    clock = (lambda: now[0]) if now is not None else None
    extra = {} if clock is None else {"clock": clock}
    return prove_with_planner(THEOREM, backend=backend, policy=policy(), search_config=SEARCH,
                              planner_config=PlannerConfig(**{**PLANNER, **settings}), client=client, **extra)


class FailingSession:
    """A session opened on first use whose opening fails on the plan (as a Coq fact's does)."""

    def __init__(self, theorem: Theorem) -> None:
        self.theorem = theorem

    def initial_state(self) -> TacticState:
        raise PlanNotOpened("Coq failed on the plan's asserts while opening fact 2: no answer within 5 s")

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        raise AssertionError("never reached")

    def close(self) -> None:
        pass


def test_a_plan_whose_subgoals_do_not_open_fails_its_round_and_planning_goes_on() -> None:
    """The planner audit's: Lean timing out on the plan when its subgoals were opened raised
    BackendUnavailableError out of prove_with_planner; no re-plan, no fallback, a sweep stopped."""

    class Hanging(ScriptedPlanBackend):
        def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                          time_left: float | None = None) -> list[Session]:
            if any("x ^ 2" in have for have in haves):
                raise PlanNotOpened(HUNG)
            return super().open_subgoals(theorem, haves, time_left=time_left)

    client = ListClient([fenced(*STUCK), fenced(*GOOD)])
    result = planned(Hanging(), client)
    assert result.proved and len(result.rounds) == 2
    assert result.rounds[0].failure is not None and HUNG in result.rounds[0].failure
    assert HUNG in client.conversations[1][-1].content  # the re-plan tells the model


def test_a_session_opened_on_first_use_that_fails_keeps_the_proven_prefix() -> None:
    class Lazy(ScriptedPlanBackend):
        def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                          time_left: float | None = None) -> list[Session]:
            sessions = super().open_subgoals(theorem, haves, time_left=time_left)
            if any("x ^ 2" in have for have in haves):
                sessions[1] = FailingSession(theorem)
            return sessions

    result = planned(Lazy(), ListClient([fenced(*STUCK), fenced(*GOOD)]))
    assert result.proved and result.stop_reason is PlanStopReason.PROVED
    first = result.rounds[0]
    assert [o.proved for o in first.subgoals] == [True] and "opening fact 2" in (first.failure or "")
    assert result.rounds[1].subgoals[0].stop_reason == "reused"  # h1 kept word for word


def test_coq_sessions_that_fail_on_the_plans_asserts_raise_plan_not_opened(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def hanging(*args: object, **kwargs: object) -> None:
        raise ProcessTimeout("coqtop[t]", 5.0)

    monkeypatch.setattr("planner.coq_plan.CoqSession", hanging)
    plan = CoqPlanBackend(SimpleNamespace(config=CoqBackendConfig()))  # type: ignore[arg-type]
    sessions = plan.open_subgoals(THEOREM, ["assert (h1 : 1 = 1)"])
    with pytest.raises(PlanNotOpened, match="while opening fact 1: coqtop"):
        sessions[0].initial_state()
    with pytest.raises(PlanNotOpened, match="while opening the main goal"):
        sessions[1].initial_state()


def test_the_plan_backend_gets_only_the_attempts_time_left() -> None:
    """The planner audit's: plan checks and subgoal openings ran under their own limits (120 s each)
    whatever the attempt had left."""
    now = [0.0]

    class SlowClient(ListClient):
        def complete(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            now[0] += 10.0
            return super().complete(messages)

    backend = ScriptedPlanBackend()
    result = planned(backend, SlowClient([fenced(*GOOD)]), now, time_limit=100.0)
    assert result.proved and backend.time_lefts == [90.0, 90.0]  # check_plan, then open_subgoals


def test_a_plan_answered_after_the_time_ran_out_is_not_checked() -> None:
    now = [0.0]

    class SlowClient(ListClient):
        def complete(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            now[0] += 100.0
            return super().complete(messages)

    backend = ScriptedPlanBackend()
    result = planned(backend, SlowClient([fenced(*GOOD)]), now, time_limit=50.0)
    assert result.stop_reason is PlanStopReason.TIME_BUDGET and backend.checked == []
    (attempt,) = result.rounds[0].attempts
    assert [r.reason for r in attempt.rejections] == [UNCHECKED_REASON]


def test_a_proof_found_in_time_is_verified_past_the_time_limit() -> None:
    """The rule of search.best_first: a found proof is not lost to the time its check takes."""
    now = [0.0]

    class Ticking(ScriptedSession):
        def run_tactic(self, state: TacticState, tactic: str, *,
                       timeout: float | None = None) -> TacticResult:
            if tactic == "norm_num":
                now[0] += 1000.0  # the main goal's last step used up the attempt's time
            return super().run_tactic(state, tactic, timeout=timeout)

    class Backend(ScriptedPlanBackend):
        def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                          time_left: float | None = None) -> list[Session]:
            return [Ticking(s.env, theorem) for s in super().open_subgoals(theorem, haves)]  # type: ignore

    backend = Backend()
    result = planned(backend, ListClient([fenced(*GOOD)]), now, time_limit=100.0)
    assert result.proved and result.stop_reason is PlanStopReason.PROVED and backend.verified


class Chain:
    """A session of ``steps`` states in a row; each tactic takes ``seconds`` on ``now``."""

    def __init__(self, steps: int, now: list[float], seconds: float) -> None:
        self.theorem = THEOREM
        self.steps, self.now, self.seconds = steps, now, seconds
        self.timeouts: list[float | None] = []

    def initial_state(self) -> TacticState:
        return TacticState("s0", ("s0",))

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        self.timeouts.append(timeout)
        self.now[0] += self.seconds
        depth = int(state.pp[1:]) + 1
        return ProofFinished() if depth == self.steps else TacticState(f"s{depth}", (f"s{depth}",))


def test_a_replay_runs_under_the_searchs_tactic_limit_within_the_time_left_or_the_floor() -> None:
    """The planner audit's: a subgoal's replay had no deadline."""
    now = [0.0]
    tactics = ["t1", "t2", "t3"]
    plenty = Chain(3, now, 40.0)
    assert replay_verifier(plenty, None, tactic_timeout=12.0, time_left=lambda: 500.0,
                           clock=lambda: now[0])(tactics).ok
    assert plenty.timeouts == [12.0, 12.0, 12.0]
    spent = Chain(3, now, 40.0)  # no time left: the floor (60 s) holds two 40 s steps, not three
    verdict = replay_verifier(spent, None, tactic_timeout=12.0, time_left=lambda: -5.0,
                              clock=lambda: now[0])(tactics)
    assert not verdict.ok and "ran out of the attempt's time before step 3" in verdict.messages[0]
    assert spent.timeouts == [12.0, 12.0] and REPLAY_FLOOR_S == 60.0
    near = Chain(3, now, 1.0)  # 5 s left, under the floor: the steps' limits are cut to the floor's
    assert replay_verifier(near, None, time_left=lambda: 5.0, clock=lambda: now[0])(tactics).ok
    assert near.timeouts == [60.0, 59.0, 58.0]
