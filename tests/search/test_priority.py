"""Node priority is a function named in the search config: the default is BFS-Prover-V2's, others plug in
by name and change the expansion order without an engine edit."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from scripted import THEOREM, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import (
    DEFAULT_PRIORITY,
    PriorityError,
    ScoredPath,
    SearchConfig,
    node_priority,
    priority_function,
    priority_names,
    prove,
    register_priority,
    unregister_priority,
)

# root -a-> A (-0.6), root -b-> B (-0.8), A -a1-> A1 (-0.8), A1 -a11-> A11 (-1.2), B -b1-> B1 (-1.0)
TREE = ScriptedEnv(
    root="root",
    moves={"root": {"a": "A", "b": "B"}, "A": {"a1": "A1"}, "A1": {"a11": "A11"}, "B": {"b1": "B1"}},
)
PROPOSALS = {"root": [("a", -0.6), ("b", -0.8)], "A": [("a1", -0.8)], "A1": [("a11", -1.2)],
             "B": [("b1", -1.0)]}


def expansion_order(config: SearchConfig) -> list[str]:
    policy = ScriptedPolicy(dict(PROPOSALS))
    result = prove(THEOREM, backend=ScriptedBackend(TREE), policy=policy, config=config)
    result.graph.check_invariants()  # recomputes every node's priority with the configured function
    return policy.asked


def critic(path: ScoredPath) -> float:
    """A stand-in value model: it likes the B branch, whatever the policy's log-probs say."""
    return 1.0 if path.state.pp.startswith("B") else -float(path.depth)


@pytest.fixture
def critic_registered() -> Iterator[str]:
    register_priority("test-critic", critic)
    yield "test-critic"
    unregister_priority("test-critic")


def test_the_default_is_bfs_prover_v2s_length_normalised_score() -> None:
    assert SearchConfig().priority == DEFAULT_PRIORITY == "bfs-prover-v2"
    score = priority_function(DEFAULT_PRIORITY)
    path = ScoredPath(state=None, depth=3, logprob_sum=-2.6, alpha=2.0)  # type: ignore[arg-type]
    assert score(path) == node_priority(-2.6, 3, 2.0) == pytest.approx(-2.6 / 9)
    # scores A -0.6, B -0.8, A1 -0.35, A11 -0.2889, B1 -0.45: the A branch to its end first
    assert expansion_order(SearchConfig(time_limit=None)) == ["root", "A", "A1", "A11", "B", "B1"]


def test_a_registered_priority_changes_the_order_by_name_alone(critic_registered: str) -> None:
    assert critic_registered in priority_names()
    config = SearchConfig(time_limit=None, priority=critic_registered)
    assert expansion_order(config) == ["root", "B", "B1", "A", "A1", "A11"]


def test_the_breadth_first_baseline_expands_level_by_level() -> None:
    config = SearchConfig(time_limit=None, priority="breadth-first", alpha=2.0)
    assert expansion_order(config) == ["root", "A", "B", "A1", "B1", "A11"]


def test_an_unknown_priority_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown priority 'value'; registered: .*bfs-prover-v2"):
        SearchConfig(priority="value")


def test_names_are_not_silently_taken_over(critic_registered: str) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_priority(critic_registered, lambda path: 0.0)
    register_priority(critic_registered, critic)  # the same function again is harmless
    with pytest.raises(ValueError, match="cannot be removed"):
        unregister_priority(DEFAULT_PRIORITY)
    with pytest.raises(ValueError, match="non-empty name"):
        register_priority(" ", critic)


def test_a_priority_that_returns_no_finite_number_is_refused() -> None:
    register_priority("test-nan", lambda path: math.nan if path.depth else 0.0)
    try:
        with pytest.raises(ValueError, match="returned nan, not a finite number"):
            expansion_order(SearchConfig(time_limit=None, priority="test-nan"))
    finally:
        unregister_priority("test-nan")


def test_a_module_function_name_is_imported_where_it_is_asked_for() -> None:
    """``module:function`` needs no ``register_priority`` in the process (a sweep's worker never ran the
    driver's): this module's ``critic`` orders the search as when registered by name."""
    name = f"{__name__}:critic"
    try:
        assert expansion_order(SearchConfig(time_limit=None, priority=name)) == [
            "root", "B", "B1", "A", "A1", "A11"]
        assert name in priority_names()
    finally:
        unregister_priority(name)
    bad_names = (("no_such_module_xyz:f", "cannot be imported"),
                 (f"{__name__}:nothing", "cannot be imported"), (f"{__name__}:THEOREM", "not a function"))
    for bad, why in bad_names:
        with pytest.raises(ValueError, match=why):
            SearchConfig(priority=bad)


def two_arguments(path: ScoredPath, other: float) -> float:
    return other


def raises(path: ScoredPath) -> float:
    raise KeyError("no critic for this state")


def test_a_priority_that_cannot_serve_is_refused_when_named_or_when_it_fails(tmp_path, monkeypatch) -> None:
    """Wrong arity is found when the name is checked, a module that fails to load (any exception) too;
    what the function raises while scoring comes out as a ``PriorityError`` naming it."""
    with pytest.raises(ValueError, match=r"must take one argument .*missing a required argument: 'other'"):
        SearchConfig(priority=f"{__name__}:two_arguments")
    (tmp_path / "broken_priority_mod.py").write_text("def f(path):\n    return (\n")
    (tmp_path / "raising_priority_mod.py").write_text("raise RuntimeError('no GPU here')\ndef f(path): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for bad, why in (("broken_priority_mod:f", "SyntaxError"),
                     ("raising_priority_mod:f", "RuntimeError: no GPU")):
        with pytest.raises(PriorityError, match=why):
            priority_function(bad)
        with pytest.raises(ValueError, match=why):
            SearchConfig(priority=bad)
    name = f"{__name__}:raises"
    try:
        with pytest.raises(PriorityError, match=r"priority function raises raised KeyError: 'no critic"):
            expansion_order(SearchConfig(time_limit=None, priority=name))
    finally:
        unregister_priority(name)
