"""A planned proof reports the progress of every search it runs (each subgoal's, the main goal's) to the
drivers' observer: what `prover prove --planner` shows live."""

from __future__ import annotations

from planner_worlds import GOOD, THEOREM, ListClient, ScriptedPlanBackend, fenced, policy

from planner import PlannerConfig, prove_with_planner
from search import BestFirstSearch, SearchConfig


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
