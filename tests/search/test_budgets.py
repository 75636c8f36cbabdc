"""Every budget is respected: expansions, wall-clock time, depth, per-tactic timeout, width."""

from __future__ import annotations

import pytest
from scripted import (
    QED,
    THEOREM,
    ScriptedBackend,
    ScriptedEnv,
    ScriptedPolicy,
    ScriptedSession,
    countdown_env,
)

from search import (
    BestFirstSearch,
    Candidate,
    ExpandRequest,
    SearchConfig,
    StopReason,
    TacticRequest,
    TacticState,
    Verdict,
    prove,
    run_search,
)


def chain_env(length: int) -> ScriptedEnv:
    """s0 -> s1 -> ... with no proof, and a policy offering two tactics per state (one fails)."""
    moves = {f"s{i}": {"next": f"s{i + 1}"} for i in range(length)}
    return ScriptedEnv(root="s0", moves=moves)


def chain_policy() -> ScriptedPolicy:
    return ScriptedPolicy({}, default=lambda s: [("next", -0.5), ("nope", -1.0)])


def test_expansion_budget_is_exact() -> None:
    result = prove(THEOREM, backend=ScriptedBackend(chain_env(100)), policy=chain_policy(),
                   config=SearchConfig(max_expansions=7, time_limit=None))
    assert result.stop_reason is StopReason.EXPANSION_BUDGET
    assert result.stats.expansions == 7
    assert result.stats.tactic_calls == 14  # every tactic of the last expansion still ran


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TickingSession(ScriptedSession):
    """Each tactic costs ``cost`` seconds of the fake clock and records the timeout it was given."""

    def __init__(self, env: ScriptedEnv, clock: FakeClock, cost: float) -> None:
        super().__init__(env, THEOREM)
        self.clock = clock
        self.cost = cost
        self.timeouts: list[float] = []
        self.starts: list[float] = []

    def run_tactic(self, state, tactic, *, timeout=None):
        self.timeouts.append(timeout)
        self.starts.append(self.clock.now)
        self.clock.now += self.cost
        return super().run_tactic(state, tactic, timeout=timeout)


def test_time_budget_stops_the_search_and_caps_tactic_timeouts() -> None:
    clock = FakeClock()
    session = TickingSession(chain_env(1000), clock, cost=1.5)
    config = SearchConfig(time_limit=10.0, tactic_timeout=4.0)
    search = BestFirstSearch(session.initial_state(), config=config, clock=clock)
    run_search(search, session, chain_policy(), lambda tactics: None)
    assert search.stop_reason is StopReason.TIME_BUDGET
    assert 10.0 <= clock.now <= 10.0 + 2 * 1.5
    assert search.stats.wall_seconds == pytest.approx(clock.now)
    assert session.timeouts[0] == 4.0
    # tactics handed out with less than tactic_timeout left get only the remaining time
    assert min(session.timeouts) < 4.0
    assert all(t > 0 for t in session.timeouts)
    # ... counted when the tactic starts, not when its state was expanded: the sibling run after a
    # 1.5 s tactic gets 1.5 s less (the last expansion's second tactic no longer overruns the budget)
    assert all(t <= max(10.0 - start, 1e-3) + 1e-9 for t, start in zip(session.timeouts, session.starts,
                                                                        strict=True))


def test_max_depth_limits_expansion() -> None:
    policy = chain_policy()
    result = prove(THEOREM, backend=ScriptedBackend(chain_env(100)), policy=policy,
                   config=SearchConfig(max_depth=3, time_limit=None))
    assert policy.asked == ["s0", "s1", "s2"]
    assert result.stop_reason is StopReason.EXHAUSTED
    assert max(n.depth for n in result.graph.nodes) == 3


def test_tactics_per_node_is_passed_to_the_policy() -> None:
    seen: list[int] = []

    class Recorder(ScriptedPolicy):
        def propose(self, states, n):
            seen.append(n)
            return super().propose(states, n)

    env = ScriptedEnv(root="r", moves={"r": {f"t{i}": f"s{i}" for i in range(10)}})
    policy = Recorder({"r": [(f"t{i}", -0.1 * i) for i in range(10)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy,
                   config=SearchConfig(tactics_per_node=3, time_limit=None))
    assert seen[0] == 3
    assert result.stats.tactic_calls == 3
    assert [c[1] for c in env.calls] == ["t0", "t1", "t2"]


def test_width_one_waits_for_every_tactic_before_the_next_expansion() -> None:
    env = countdown_env(50)
    search = BestFirstSearch(TacticState(env.root), config=SearchConfig(time_limit=None))
    first = search.requests()
    assert [type(r) for r in first] == [ExpandRequest]
    assert search.requests() == []  # nothing more until the policy answers
    search.on_proposals(first[0], [Candidate("dec", -0.1), Candidate("sub7", -0.2)])
    tactics = search.requests()
    assert [r.tactic for r in tactics] == ["dec", "sub7"]
    assert all(isinstance(r, TacticRequest) for r in tactics)
    search.on_tactic_result(tactics[0], env.step(env.root, "dec"))
    assert search.requests() == []  # one tactic is still out
    search.on_tactic_result(tactics[1], env.step(env.root, "sub7"))
    nxt = search.requests()
    assert len(nxt) == 1 and nxt[0].state.pp == "n=49"


def test_wider_expansion_hands_out_several_states() -> None:
    env = countdown_env(64)
    search = BestFirstSearch(TacticState(env.root), config=SearchConfig(time_limit=None,
                                                                          expansion_width=3))
    (root,) = search.requests()
    search.on_proposals(root, [Candidate("dec", -0.1), Candidate("half", -0.2), Candidate("sub7", -0.3)])
    for request in search.requests():
        search.on_tactic_result(request, env.step(request.state.pp, request.tactic))
    expansions = search.requests()
    assert [r.state.pp for r in expansions] == ["n=63", "n=32", "n=57"]


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": -1.0}, {"tactics_per_node": 0}, {"max_expansions": 0}, {"time_limit": 0.0},
     {"tactic_timeout": -1.0}, {"max_depth": 0}, {"expansion_width": 0}],
)
def test_invalid_configuration_is_refused_with_the_field_named(kwargs: dict) -> None:
    (field,) = kwargs
    with pytest.raises(ValueError, match=field):
        SearchConfig(**kwargs)


@pytest.mark.parametrize("driver", ["sequential", "overlapped"])
@pytest.mark.parametrize("accepted", [True, False])
def test_a_proof_found_in_time_is_checked_past_the_time_budget(driver: str, accepted: bool) -> None:
    """A proof found by a tactic started in time is checked even when the tactic or the check ends after
    the budget: the proof counts (both drivers alike); a rejected one ends the search on the time
    budget, with no tactic run after it."""
    from search.overlap import run_search_overlapped

    clock = FakeClock()
    env = ScriptedEnv("r", {"r": {"fin": QED, "other": "s"}})
    backend = ScriptedBackend(env)
    session = TickingSession(env, clock, cost=1.5)  # 'fin' returns after the 1 s budget
    checked: list[tuple[str, ...]] = []

    def slow_verify(tactics: tuple[str, ...]) -> Verdict:
        checked.append(tuple(tactics))
        clock.now += 5.0  # and its check takes longer still
        return backend.verify(THEOREM, tactics) if accepted else Verdict(False, ("rejected",))

    search = BestFirstSearch(session.initial_state(), config=SearchConfig(time_limit=1.0), clock=clock)
    policy = ScriptedPolicy({"r": [("fin", -0.1), ("other", -0.2)]})
    if driver == "sequential":
        run_search(search, session, policy, slow_verify)
    else:
        run_search_overlapped(search, [session], policy, slow_verify, clock=clock)
    assert checked == [("fin",)]
    if accepted:
        assert search.stop_reason is StopReason.PROVED and search.proof == ("fin",)
    else:
        assert search.stop_reason is StopReason.TIME_BUDGET and search.proof is None
        assert search.stats.proofs_rejected == 1 and session.starts == [0.0]


@pytest.mark.parametrize("driver", ["sequential", "overlapped"])
def test_a_tactic_started_in_time_that_proves_after_the_budget_counts(driver: str) -> None:
    """Real time: the tactic overshoots its capped limit a little (Coq's Timeout rounds up), and both
    drivers await it, check its proof and count it."""
    import time

    from search.overlap import run_search_overlapped

    class Slow(ScriptedSession):
        def run_tactic(self, state, tactic, *, timeout=None):  # type: ignore[no-untyped-def]
            time.sleep(0.3)
            return super().run_tactic(state, tactic, timeout=timeout)

    env = ScriptedEnv("r", {"r": {"fin": QED}})
    session = Slow(env, THEOREM)
    search = BestFirstSearch(session.initial_state(), config=SearchConfig(time_limit=0.1))
    policy = ScriptedPolicy({"r": [("fin", -0.1)]})

    def verify(tactics: tuple[str, ...]) -> Verdict:
        return ScriptedBackend(env).verify(THEOREM, tactics)

    if driver == "sequential":
        run_search(search, session, policy, verify)
    else:
        run_search_overlapped(search, [session], policy, verify)
    assert search.stop_reason is StopReason.PROVED and search.proof == ("fin",)
