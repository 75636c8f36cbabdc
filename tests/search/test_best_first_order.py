"""Expansion order follows the scoring formula exactly (hand-computed for alpha 0, 1 and 2)."""

from __future__ import annotations

import math

import pytest
from scripted import THEOREM, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import SearchConfig, StopReason, node_priority, prove

# root -a-> A (-0.6), root -b-> B (-0.8), A -a1-> A1 (-0.8), A1 -a11-> A11 (-1.2), B -b1-> B1 (-1.0)
TREE = ScriptedEnv(
    root="root",
    moves={"root": {"a": "A", "b": "B"}, "A": {"a1": "A1"}, "A1": {"a11": "A11"}, "B": {"b1": "B1"}},
)
PROPOSALS = {
    "root": [("a", -0.6), ("b", -0.8)],
    "A": [("a1", -0.8)],
    "A1": [("a11", -1.2)],
    "B": [("b1", -1.0)],
}


@pytest.mark.parametrize(
    ("alpha", "order"),
    [
        # scores A -0.6, B -0.8, A1 -1.4, A11 -2.6, B1 -1.8
        (0.0, ["root", "A", "B", "A1", "B1", "A11"]),
        # scores A -0.6, B -0.8, A1 -0.7, A11 -0.8667, B1 -0.9
        (1.0, ["root", "A", "A1", "B", "A11", "B1"]),
        # scores A -0.6, B -0.8, A1 -0.35, A11 -0.2889, B1 -0.45
        (2.0, ["root", "A", "A1", "A11", "B", "B1"]),
    ],
)
def test_expansion_order_matches_hand_computed_scores(alpha: float, order: list[str]) -> None:
    policy = ScriptedPolicy(dict(PROPOSALS))
    result = prove(THEOREM, backend=ScriptedBackend(TREE), policy=policy,
                   config=SearchConfig(alpha=alpha, time_limit=None))
    assert policy.asked == order
    assert result.stop_reason is StopReason.EXHAUSTED
    assert result.stats.expansions == 6
    result.graph.check_invariants()


def test_node_priority_formula() -> None:
    assert node_priority(0.0, 0, 2.0) == 0.0
    assert node_priority(-2.6, 3, 0.0) == pytest.approx(-2.6)
    assert node_priority(-2.6, 3, 1.0) == pytest.approx(-2.6 / 3)
    assert node_priority(-2.6, 3, 2.0) == pytest.approx(-2.6 / 9)
    assert node_priority(-1.0, 2, 1.5) == pytest.approx(-1.0 / math.sqrt(8))


def test_ties_go_to_the_state_found_first() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"x": "X", "y": "Y", "z": "Z"}})
    policy = ScriptedPolicy({"r": [("z", -1.0), ("x", -1.0), ("y", -1.0)]})
    prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=SearchConfig(time_limit=None))
    # candidates keep the policy's order among equals; children are expanded in discovery order
    assert policy.asked == ["r", "Z", "X", "Y"]


def test_tactics_run_in_policy_order_and_children_get_path_scores() -> None:
    policy = ScriptedPolicy(dict(PROPOSALS))
    backend = ScriptedBackend(TREE)
    result = prove(THEOREM, backend=backend, policy=policy, config=SearchConfig(alpha=1.0, time_limit=None))
    assert backend.env.calls[:2] == [("root", "a"), ("root", "b")]
    nodes = {n.state.pp: n for n in result.graph.nodes}
    assert nodes["A11"].depth == 3
    assert nodes["A11"].logprob_sum == pytest.approx(-2.6)
    assert nodes["A11"].priority == pytest.approx(-2.6 / 3)
    assert result.graph.path(nodes["A11"].id) == ["a", "a1", "a11"]
