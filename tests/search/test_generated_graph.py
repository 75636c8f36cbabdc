"""A generated environment with thousands of states and a known shortest proof."""

from __future__ import annotations

from scripted import THEOREM, ScriptedBackend, ScriptedPolicy, countdown_env

from search import SearchConfig, StopReason, prove


def uniform(state: str) -> list[tuple[str, float]]:
    return [("dec", -1.0), ("half", -1.0), ("sub7", -1.0)]


def test_uniform_scores_with_alpha_zero_find_a_shortest_proof() -> None:
    # every tactic costs the same, so best-first order is breadth-first and the first proof is shortest
    env = countdown_env(5000)
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({}, default=uniform),
                   config=SearchConfig(alpha=0.0, time_limit=None))
    assert result.stop_reason is StopReason.PROVED
    assert len(result.proof.tactics) == env.shortest_proof_length() == 41
    assert env.replays_to_qed(result.proof.tactics)
    assert result.stats.new_states > 1000
    result.graph.check_invariants()
    graph = result.graph.to_networkx()
    assert graph.number_of_nodes() == len(result.graph.nodes) + 1  # plus the proved sink


def test_graph_search_visits_each_state_once() -> None:
    env = countdown_env(3000)
    policy = ScriptedPolicy({}, default=lambda s: [("dec", -0.2), ("half", -0.9), ("sub7", -0.5)])
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy,
                   config=SearchConfig(time_limit=None))
    assert result.proved
    assert len(policy.asked) == len(set(policy.asked))
    assert env.replays_to_qed(result.proof.tactics)
    result.graph.check_invariants()


def test_budget_too_small_for_the_shortest_proof_fails_cleanly() -> None:
    env = countdown_env(5000)
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({}, default=uniform),
                   config=SearchConfig(alpha=0.0, max_expansions=50, time_limit=None))
    assert result.stop_reason is StopReason.EXPANSION_BUDGET
    assert result.proof is None and result.stats.expansions == 50
