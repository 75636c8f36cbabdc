"""A planned proof reports the progress of every search it runs (each subgoal's, the main goal's) to the
drivers' observer: what `prover prove --planner` shows live."""

from __future__ import annotations

import pytest
from planner_worlds import GOOD, THEOREM, ListClient, ScriptedPlanBackend, fenced, policy

from planner import PlannerConfig, PlanProgress, PlanStage, prove_with_planner
from search import BestFirstSearch, SearchConfig

STUCK = (("h1", "5 * x = 25"), ("h2", "x ^ 2 = 25"))  # h2 has no proof: the round stops there


def test_every_search_of_a_plan_is_observed() -> None:
    seen: list[BestFirstSearch] = []

    def observer(search: BestFirstSearch) -> None:
        if not seen or seen[-1] is not search:
            seen.append(search)

    config = PlannerConfig(subgoal_expansions=8, main_expansions=8, subgoal_time_limit=None,
                           main_time_limit=None, replans=0, plan_attempts=1)
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(), policy=policy(),
                                search_config=SearchConfig(time_limit=None, max_expansions=20),
                                planner_config=config, client=ListClient([fenced(*GOOD)]), observer=observer)
    assert result.proved
    assert len(seen) == result.stats.searches == len(GOOD) + 1  # each subgoal, then the main goal
    assert sum(search.stats.expansions for search in seen) == result.search.expansions


def test_the_plan_observer_hears_each_subgoal_as_k_of_n() -> None:
    steps: list[PlanProgress] = []
    config = PlannerConfig(subgoal_expansions=8, main_expansions=8, subgoal_time_limit=None,
                           main_time_limit=None, replans=1, plan_attempts=1)
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(), policy=policy(),
                                search_config=SearchConfig(time_limit=None, max_expansions=20),
                                planner_config=config, client=ListClient([fenced(*STUCK), fenced(*GOOD)]),
                                plan_observer=steps.append)
    assert result.proved
    assert [step.line() for step in steps] == [
        "round 1 · asking the planner for a plan",
        "round 1 · subgoal 1/2 · 0/2 subgoals proved",
        "round 1 · subgoal 2/2 · 1/2 subgoals proved",  # stuck here: a re-plan
        "round 2 · asking the planner for a plan",
        "round 2 · subgoal 1/2 · 0/2 subgoals proved",  # reused from round 1
        "round 2 · subgoal 2/2 · 1/2 subgoals proved",
        "round 2 · main goal · 2/2 subgoals proved",
    ]
    assert steps[2] == PlanProgress(PlanStage.SUBGOAL, round=0, subgoal=1, subgoals=2, proved=1)


def test_a_failed_plan_ends_with_the_direct_search_step() -> None:
    steps: list[PlanProgress] = []
    config = PlannerConfig(subgoal_expansions=8, main_expansions=8, subgoal_time_limit=None,
                           main_time_limit=None, replans=0, plan_attempts=1)
    prove_with_planner(THEOREM, backend=ScriptedPlanBackend(), policy=policy(),
                       search_config=SearchConfig(time_limit=None, max_expansions=5), planner_config=config,
                       client=ListClient([fenced(*STUCK)]), plan_observer=steps.append)
    assert steps[-1].stage is PlanStage.DIRECT and steps[-1].line() == "direct search after planning"


def test_a_step_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"proved must be within 0\.\.2"):
        PlanProgress(PlanStage.SUBGOAL, subgoal=0, subgoals=2, proved=3)
    with pytest.raises(ValueError, match=r"subgoal must be within 0\.\.1"):
        PlanProgress(PlanStage.SUBGOAL, subgoal=2, subgoals=2)
