"""Progress of a running search, read through the drivers' observer: what a display shows."""

from __future__ import annotations

import pytest
from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import (
    BestFirstSearch,
    Candidate,
    ProgressReader,
    SearchConfig,
    SearchProgress,
    TacticState,
    prove,
    prove_overlapped,
)


def _env() -> tuple[ScriptedEnv, ScriptedPolicy]:
    env = ScriptedEnv(root="r", moves={"r": {"a": "s", "b": "t", "bad": Fail("no")}, "s": {"c": "u"},
                                       "u": {"fin": QED}})
    policy = ScriptedPolicy({"r": [("a", -0.1), ("b", -0.5), ("bad", -0.6)], "s": [("c", -0.1)],
                             "u": [("fin", -0.1)]})
    return env, policy


class Recorder:
    def __init__(self) -> None:
        self.reader = ProgressReader()
        self.readings: list[SearchProgress] = []

    def __call__(self, search: BestFirstSearch) -> None:
        self.readings.append(self.reader.read(search))


def test_the_observer_sees_every_answer_and_the_final_state() -> None:
    env, policy = _env()
    recorder = Recorder()
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy,
                   config=SearchConfig(time_limit=None, max_expansions=10), observer=recorder)
    assert result.proved
    stats = result.stats
    # one reading per answer: the policy's, the proof assistant's, the verifier's
    assert len(recorder.readings) == len(policy.asked) + stats.tactic_calls + 1
    expansions = [r.expansions for r in recorder.readings]
    assert expansions == sorted(expansions)  # readings follow the search
    last = recorder.readings[-1]
    assert (last.expansions, last.tactics_run, last.errors, last.states) == (stats.expansions, 5, 1, 4)
    assert last.max_depth == 2 and last.expansions_left == 10 - stats.expansions and last.time_left is None
    assert last.elapsed == stats.wall_seconds and last.proofs_found == 1


def test_the_overlapped_driver_reports_progress_too() -> None:
    env, policy = _env()
    recorder = Recorder()
    result = prove_overlapped(THEOREM, backend=ScriptedBackend(env), policy=policy, sessions=2,
                              config=SearchConfig(time_limit=30.0, expansion_width=2), observer=recorder)
    assert result.proved and recorder.readings
    last = recorder.readings[-1]
    assert last.tactics_run == result.stats.tactic_calls and last.expansions == result.stats.expansions
    assert last.time_left is not None and 0 < last.time_left <= 30.0


def test_open_states_best_score_and_goals_closed() -> None:
    # the root has two goals; "a" closes one, "b" leaves both: goals closed along the best path is 1
    root = TacticState("g1\n\ng2", ("g1", "g2"))
    search = BestFirstSearch(root, config=SearchConfig(time_limit=None, alpha=0.0))
    reader = ProgressReader()
    (expand,) = search.requests()
    assert reader.read(search).open_states == 0  # the root is being expanded
    search.on_proposals(expand, [Candidate("a", -0.2), Candidate("b", -0.7)])
    first, second = search.requests()
    search.on_tactic_result(first, TacticState("g2", ("g2",)))
    search.on_tactic_result(second, TacticState("g1'\n\ng2", ("g1'", "g2")))
    reading = reader.read(search)
    assert reading.open_states == 2 and reading.best_score == -0.2  # alpha 0: the path's log-prob sum
    assert reading.goals_closed == 1 and reading.states == 3 and reading.max_depth == 1


def test_prove_chooses_the_driver_by_its_sessions() -> None:
    """``prove(sessions=N)`` is the one place that picks the driver: 1 session the sequential one, more
    the overlapped one, which opens them all; fewer than 1 is refused."""
    env, policy = _env()
    config = SearchConfig(time_limit=30.0, expansion_width=2)
    one, three = ScriptedBackend(env), ScriptedBackend(env)
    assert prove(THEOREM, backend=one, policy=policy, config=config).proved
    assert prove(THEOREM, backend=three, policy=policy, config=config, sessions=3).proved
    assert (len(one.sessions), len(three.sessions)) == (1, 3)
    with pytest.raises(ValueError, match="sessions must be >= 1"):
        prove(THEOREM, backend=ScriptedBackend(env), policy=policy, sessions=0)
