"""The overlapped driver: exact at width 1, parallel and batched beyond, budgets kept, clean shutdown."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass

import pytest
from scripted import (
    QED,
    THEOREM,
    Fail,
    Hang,
    ScriptedBackend,
    ScriptedEnv,
    ScriptedPolicy,
    ScriptedSession,
    countdown_env,
)

from search import BestFirstSearch, SearchConfig, StopReason, run_search
from search.overlap import prove_overlapped, run_search_overlapped

# --- fixtures and helpers ------------------------------------------------------------------------------


def overlap_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("overlap-")]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    yield
    assert overlap_threads() == [], "the driver left threads running"


WAIT = 5.0  # seconds an event may take before the test fails (never reached when the driver is right)


class SignallingSearch(BestFirstSearch):
    """A search that tells other threads where the driver is.

    ``stopped`` is set once the search has stopped (the driver asks it for requests after every answer).
    ``queued`` is set when the driver thread, holding ``queued_after`` scheduled expansions, reads the
    time left (``elapsed``): it does so just before it waits for answers, after it handed every ready
    request to the threads. The search needs a time limit for that read to happen."""

    def __init__(self, *args, queued_after: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stopped = threading.Event()
        self.queued = threading.Event()
        self.queued_after = queued_after

    def requests(self):
        out = super().requests()
        if self.done:
            self.stopped.set()
        return out

    def elapsed(self) -> float:
        on_driver = not threading.current_thread().name.startswith("overlap-")
        if on_driver and self.queued_after is not None and self.stats.expansions >= self.queued_after:
            self.queued.set()
        return super().elapsed()


class JitterSession(ScriptedSession):
    """Answers after a random pause of at most 2 ms, so that parallel answers come back out of order."""

    def __init__(self, env: ScriptedEnv, seed: int) -> None:
        super().__init__(env, THEOREM)
        self.rng = random.Random(seed)

    def run_tactic(self, state, tactic, *, timeout=None):
        time.sleep(self.rng.random() * 0.002)
        return super().run_tactic(state, tactic, timeout=timeout)


@dataclass
class Case:
    env: ScriptedEnv
    policy: Callable[[], ScriptedPolicy]
    config: SearchConfig
    banned: tuple[str, ...] = ()


def uniform(state: str) -> list[tuple[str, float]]:
    return [("dec", -1.0), ("half", -1.0), ("sub7", -1.0)]


def countdown_policy() -> ScriptedPolicy:
    return ScriptedPolicy({}, default=lambda s: [("dec", -0.2), ("half", -0.9), ("sub7", -0.5)])


TREE = ScriptedEnv(
    root="root",
    moves={"root": {"a": "A", "b": "B"}, "A": {"a1": "A1"}, "A1": {"a11": "A11"}, "B": {"b1": "B1"}},
)
TREE_PROPOSALS = {"root": [("a", -0.6), ("b", -0.8)], "A": [("a1", -0.8)], "A1": [("a11", -1.2)],
                  "B": [("b1", -1.0)]}
NO_TIME = {"time_limit": None}

CASES = {
    **{f"tree-alpha{a}": Case(TREE, lambda: ScriptedPolicy(dict(TREE_PROPOSALS)),
                              SearchConfig(alpha=a, **NO_TIME)) for a in (0.0, 1.0, 2.0)},
    "merged-states": Case(
        ScriptedEnv("r", {"r": {"x": "M", "y": "M", "skip": "r"}, "M": {"done": "E"}}),
        lambda: ScriptedPolicy({"r": [("x", -0.1), ("y", -0.2), ("skip", -0.3)], "M": [("done", -0.1)]}),
        SearchConfig(**NO_TIME)),
    "errors-timeouts": Case(
        ScriptedEnv("r", {"r": {"bad": Fail("no"), "slow": Hang(12.0), "good": "g"}, "g": {"fin": QED}}),
        lambda: ScriptedPolicy({"r": [("bad", -0.1), ("slow", -0.2), ("good", -0.3)],
                                "g": [("fin", -0.1)]}),
        SearchConfig(**NO_TIME)),
    "filtered": Case(
        ScriptedEnv("r", {"r": {"sorry": QED, "ok": "s"}, "s": {"fin": QED}}),
        lambda: ScriptedPolicy({"r": [("sorry", -0.01), ("ok", -0.5)], "s": [("fin", -0.1)]}),
        SearchConfig(**NO_TIME), banned=("sorry",)),
    "rejected-proof": Case(
        ScriptedEnv("r", {"r": {"cheat": QED, "a": "s", "b": "t"}, "s": {"fin": QED}},
                    rejected_proofs={("cheat",)}),
        lambda: ScriptedPolicy({"r": [("cheat", -0.01), ("a", -0.5), ("b", -0.6)], "s": [("fin", -0.1)]}),
        SearchConfig(**NO_TIME)),
    "verify-before-siblings": Case(
        ScriptedEnv("r", {"r": {"fin": QED, "other": "x"}}),
        lambda: ScriptedPolicy({"r": [("fin", -0.1), ("other", -0.2)]}), SearchConfig(**NO_TIME)),
    "countdown-proof": Case(countdown_env(400), countdown_policy, SearchConfig(**NO_TIME)),
    "countdown-ties-budget": Case(countdown_env(5000), lambda: ScriptedPolicy({}, default=uniform),
                                  SearchConfig(alpha=0.0, max_expansions=60, **NO_TIME)),
}


def outcome(search: BestFirstSearch) -> tuple:
    """Everything a search decided (its timings aside)."""
    stats = search.stats
    counts = (stats.expansions, stats.tactic_calls, stats.new_states, stats.duplicate_states,
              stats.errors, stats.timeouts, stats.filtered, stats.proofs_found, stats.proofs_rejected)
    nodes = [(n.state.pp, n.depth, n.parent, n.tactic, n.logprob_sum, n.expanded) for n in search.graph.nodes]
    edges = [astuple(e) for e in search.graph.edges]
    return search.stop_reason, search.proof, counts, nodes, edges


def new_search(case: Case, backend: ScriptedBackend, **overrides) -> BestFirstSearch:
    config = SearchConfig(**{**case.config.__dict__, **overrides})
    return BestFirstSearch(ScriptedSession(case.env, THEOREM).initial_state(), config=config,
                           tactic_filter=backend.check_tactic)


# --- width 1 is the synchronous driver, exactly --------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_width_one_makes_the_same_calls_as_the_sync_driver(name: str) -> None:
    case = CASES[name]
    results = []
    for overlapped in (False, True):
        backend = ScriptedBackend(case.env, banned=case.banned)
        policy = case.policy()
        search = new_search(case, backend)
        verify = lambda tactics, b=backend: b.verify(THEOREM, tactics)  # noqa: E731
        if overlapped:
            sessions = [JitterSession(case.env, seed) for seed in range(3)]
            run_search_overlapped(search, sessions, policy, verify)
        else:
            run_search(search, ScriptedSession(case.env, THEOREM), policy, verify)
        search.graph.check_invariants()
        results.append((policy.asked, backend.verified, outcome(search)))
    assert results[0] == results[1]


# --- width > 1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [2, 4, 8])
def test_wider_search_proves_countdown_and_the_proof_replays(width: int) -> None:
    env = countdown_env(3000)
    backend = ScriptedBackend(env)
    result = prove_overlapped(THEOREM, backend=backend, policy=countdown_policy(),
                              config=SearchConfig(expansion_width=width, time_limit=None), sessions=4)
    assert result.proved
    assert env.replays_to_qed(result.proof.tactics)
    assert backend.verified[-1] == result.proof.tactics
    assert len(backend.sessions) == 4 and all(s.closed for s in backend.sessions)
    result.graph.check_invariants()


class BarrierSession(ScriptedSession):
    """Tactics on the root wait for ``barrier``: they succeed only if all its parties run at once."""

    def __init__(self, env: ScriptedEnv, barrier: threading.Barrier, timeout: float) -> None:
        super().__init__(env, THEOREM)
        self.barrier, self.timeout = barrier, timeout

    def run_tactic(self, state, tactic, *, timeout=None):
        if state.pp == self.env.root:
            self.barrier.wait(self.timeout)
        return super().run_tactic(state, tactic, timeout=timeout)


FAN = ScriptedEnv("r", {"r": {f"t{i}": f"c{i}" for i in range(4)}, "c2": {"fin": QED}})
FAN_POLICY = {"r": [(f"t{i}", -0.1 * (i + 1)) for i in range(4)], "c2": [("fin", -0.1)]}


def test_sibling_tactics_run_in_parallel_sessions() -> None:
    barrier = threading.Barrier(4)
    sessions = [BarrierSession(FAN, barrier, timeout=5.0) for _ in range(4)]
    search = BestFirstSearch(sessions[0].initial_state(), config=SearchConfig(time_limit=None))
    backend = ScriptedBackend(FAN)
    run_search_overlapped(search, sessions, ScriptedPolicy(dict(FAN_POLICY)),
                          lambda tactics: backend.verify(THEOREM, tactics))
    assert search.stop_reason is StopReason.PROVED and search.proof == ("t2", "fin")


def test_too_few_sessions_break_the_barrier_and_the_error_reaches_the_caller() -> None:
    barrier = threading.Barrier(4)
    sessions = [BarrierSession(FAN, barrier, timeout=0.05) for _ in range(2)]
    search = BestFirstSearch(sessions[0].initial_state(), config=SearchConfig(time_limit=None))
    with pytest.raises(threading.BrokenBarrierError):
        run_search_overlapped(search, sessions, ScriptedPolicy(dict(FAN_POLICY)), lambda tactics: None)


class GatedSession(ScriptedSession):
    """Runs the tactics in ``gated`` only once ``gate`` is set."""

    def __init__(self, env: ScriptedEnv, gate: threading.Event, gated: set[str]) -> None:
        super().__init__(env, THEOREM)
        self.gate, self.gated = gate, gated

    def run_tactic(self, state, tactic, *, timeout=None):
        if tactic in self.gated:
            assert self.gate.wait(WAIT), "the gate never opened"
        return super().run_tactic(state, tactic, timeout=timeout)


class RecordingPolicy(ScriptedPolicy):
    """Records the size of each batch. The second call (for c0) opens ``gate`` (t1..t3 run and their
    children c1..c3 get scheduled) and returns only once the driver queued those expansions and waits."""

    def __init__(self, table, gate: threading.Event, search_ref: list[SignallingSearch]) -> None:
        super().__init__(table)
        self.batches: list[int] = []
        self.gate, self.search_ref = gate, search_ref

    def propose(self, states, n):
        self.batches.append(len(states))
        if len(self.batches) == 2:
            self.gate.set()
            assert self.search_ref[0].queued.wait(WAIT), "the children were never queued"
        return super().propose(states, n)


def test_pending_expansions_reach_the_policy_as_one_batch() -> None:
    gate, search_ref = threading.Event(), []
    policy = RecordingPolicy({"r": FAN_POLICY["r"]}, gate, search_ref)
    search = SignallingSearch(ScriptedSession(FAN, THEOREM).initial_state(), queued_after=5,
                              config=SearchConfig(expansion_width=8, time_limit=3600.0))
    search_ref.append(search)
    sessions = [GatedSession(FAN, gate, {"t1", "t2", "t3"}) for _ in range(4)]
    report = run_search_overlapped(search, sessions, policy, lambda tactics: None)
    assert search.stop_reason is StopReason.EXHAUSTED and search.stats.expansions == 5
    # r, then c0 alone (t1..t3 wait for the second call), then c1..c3, pending during it, in one call
    assert policy.batches == [1, 1, 3]
    assert report.propose_calls == 3 and report.largest_batch == 3
    assert policy.asked[:2] == ["r", "c0"] and sorted(policy.asked[2:]) == ["c1", "c2", "c3"]


# --- budgets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 4])
def test_expansion_budget_is_exact(width: int) -> None:
    env = countdown_env(5000)
    policy = ScriptedPolicy({}, default=uniform)
    search = BestFirstSearch(ScriptedSession(env, THEOREM).initial_state(),
                             config=SearchConfig(max_expansions=20, expansion_width=width, time_limit=None))
    sessions = [ScriptedSession(env, THEOREM) for _ in range(4)]
    run_search_overlapped(search, sessions, policy, lambda tactics: None)
    assert search.stop_reason is StopReason.EXPANSION_BUDGET
    assert search.stats.expansions == 20 and len(policy.asked) == 20
    assert search.stats.tactic_calls == 60  # every tactic of every expansion ran


class LockedClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class TickingSession(ScriptedSession):
    """Each tactic costs ``cost`` seconds of the fake clock and records the timeout it was given."""

    def __init__(self, env: ScriptedEnv, clock: LockedClock, cost: float) -> None:
        super().__init__(env, THEOREM)
        self.clock, self.cost = clock, cost
        self.timeouts: list[float] = []
        self.starts: list[float] = []

    def run_tactic(self, state, tactic, *, timeout=None):
        self.timeouts.append(timeout)
        self.starts.append(self.clock.now)
        self.clock.advance(self.cost)
        return super().run_tactic(state, tactic, timeout=timeout)


def test_time_budget_on_a_fake_clock() -> None:
    clock = LockedClock()
    env = countdown_env(5000)
    sessions = [TickingSession(env, clock, cost=0.5) for _ in range(2)]
    search = BestFirstSearch(sessions[0].initial_state(), clock=clock,
                             config=SearchConfig(time_limit=10.0, tactic_timeout=4.0, expansion_width=2))
    run_search_overlapped(search, sessions, ScriptedPolicy({}, default=uniform), lambda tactics: None)
    assert search.stop_reason is StopReason.TIME_BUDGET
    # the fake clock adds up the cost of tactics that run at once; a tactic still queued when the deadline
    # passes never starts, so at most one tactic per session runs past it
    assert 10.0 <= search.stats.wall_seconds <= 10.0 + 2 * 0.5
    assert clock.now <= 10.0 + 2 * 0.5
    timeouts = [t for s in sessions for t in s.timeouts]
    assert max(timeouts) == 4.0 and 0 < min(timeouts) < 4.0
    # each tactic got at most the time left when it started (the other session may have ticked once
    # between the check and the start)
    for session in sessions:
        for started, timeout in zip(session.starts, session.timeouts, strict=True):
            assert timeout <= 10.0 - started + 0.5 + 1e-9


class LateSession(ScriptedSession):
    """Moves the fake clock past the deadline once every session has started its tactic (``started``, a
    barrier), then answers; ``answered_after_stop`` records whether the search had stopped by then."""

    def __init__(self, env: ScriptedEnv, clock: LockedClock, started: threading.Barrier,
                 stopped: threading.Event) -> None:
        super().__init__(env, THEOREM)
        self.clock, self.started, self.stopped = clock, started, stopped
        self.answered_after_stop: list[bool] = []

    def run_tactic(self, state, tactic, *, timeout=None):
        self.started.wait(WAIT)
        self.clock.now = 10.5
        time.sleep(0.05)  # the driver sees the budget spent while the tactics still run
        self.answered_after_stop.append(self.stopped.is_set())
        return super().run_tactic(state, tactic, timeout=timeout)


class EarlyPolicy(ScriptedPolicy):
    """Answers when 10 ms of the budget are left."""

    def __init__(self, clock: LockedClock) -> None:
        super().__init__({}, default=uniform)
        self.clock = clock

    def propose(self, states, n):
        self.clock.now = 9.99
        return super().propose(states, n)


def test_the_time_budget_ends_the_search_once_the_tactics_started_in_time_answered() -> None:
    """As in run_search, a tactic started before the deadline is awaited and its answer fed (it may close
    the proof); no tactic starts after it, and the search stops on the time budget."""
    clock = LockedClock()
    env = countdown_env(100)
    root = ScriptedSession(env, THEOREM).initial_state()
    search = SignallingSearch(root, clock=clock, config=SearchConfig(time_limit=10.0))
    started = threading.Barrier(3)
    sessions = [LateSession(env, clock, started, search.stopped) for _ in range(3)]
    report = run_search_overlapped(search, sessions, EarlyPolicy(clock), lambda tactics: None)
    assert search.stop_reason is StopReason.TIME_BUDGET
    assert search.stats.expansions == 1 and search.stats.tactic_calls == 3  # every answer was fed
    assert report.dropped == 0
    # every tactic started before the deadline and answered after it, before the search stopped
    assert [answered for s in sessions for answered in s.answered_after_stop] == [False] * 3


def test_at_width_one_a_tactic_that_never_ran_does_not_hold_back_the_answers_after_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ordered mode feeds tactic answers in hand-out order. The thread that took tactic 0 is paused until
    tactic 1 has closed the proof in time; by then the budget is spent, so tactic 0 never runs (its answer
    is LATE). The LATE answer keeps its place and is passed by: tactic 1's proof is fed and checked."""
    import search.overlap as overlap

    clock = LockedClock()
    closed = threading.Event()
    original = overlap.tactic_server

    def paused_server(session, clock_, time_left, stopped=lambda: False):
        serve = original(session, clock_, time_left, stopped)

        def serve_paused(jobs):
            if any(seq == 0 for seq, _ in jobs):
                assert closed.wait(WAIT), "tactic 1 never ran"
                clock.now = 10.5  # the deadline passed while this thread was descheduled
            return serve(jobs)

        return serve_paused

    monkeypatch.setattr(overlap, "tactic_server", paused_server)

    class Session(ScriptedSession):
        def run_tactic(self, state, tactic, *, timeout=None):
            result = super().run_tactic(state, tactic, timeout=timeout)
            if tactic == "t1":
                closed.set()
            return result

    env = ScriptedEnv("R", {"R": {"t0": Fail(), "t1": QED}})
    search = BestFirstSearch(ScriptedSession(env, THEOREM).initial_state(), clock=clock,
                             config=SearchConfig(time_limit=10.0, expansion_width=1))
    report = run_search_overlapped(search, [Session(env, THEOREM) for _ in range(2)],
                                   ScriptedPolicy({"R": [("t0", -0.1), ("t1", -0.2)]}),
                                   lambda tactics: ScriptedBackend(env).verify(THEOREM, tactics))
    assert env.calls == [("R", "t1")]
    assert search.stop_reason is StopReason.PROVED and search.proof == ("t1",)
    assert (search.stats.proofs_found, search.stats.tactic_calls, report.dropped) == (1, 1, 1)


# --- stopping and errors -------------------------------------------------------------------------------


def test_work_left_when_the_proof_is_verified_is_dropped() -> None:
    env = ScriptedEnv("r", {"r": {"fin": QED, "slow": "a", "t3": "b", "t4": "c"}})
    slow_started = threading.Event()
    search = SignallingSearch(ScriptedSession(env, THEOREM).initial_state(), config=SearchConfig(**NO_TIME))

    class Session(ScriptedSession):
        def run_tactic(self, state, tactic, *, timeout=None):
            if tactic == "slow":  # still running when the proof is verified and the search stops
                slow_started.set()
                assert search.stopped.wait(WAIT), "the search never stopped"
            return super().run_tactic(state, tactic, timeout=timeout)

    def verify(tactics):
        assert slow_started.wait(WAIT)
        return ScriptedBackend(env).verify(THEOREM, tactics)

    policy = ScriptedPolicy({"r": [("fin", -0.1), ("slow", -0.2), ("t3", -0.3), ("t4", -0.4)]})
    report = run_search_overlapped(search, [Session(env, THEOREM)], policy, verify)
    assert search.proof == ("fin",)
    assert env.calls == [("r", "fin"), ("r", "slow")]  # t3 and t4 were cancelled before they started
    assert report.dropped == 3
    assert search.stats.tactic_calls == 1


class Boom(RuntimeError):
    pass


def test_a_policy_error_reaches_the_caller_after_shutdown() -> None:
    calls = []

    class Failing(ScriptedPolicy):
        def propose(self, states, n):
            calls.append(states)
            if len(calls) == 3:
                raise Boom("model server died")
            return super().propose(states, n)

    env = countdown_env(500)
    search = BestFirstSearch(ScriptedSession(env, THEOREM).initial_state(),
                             config=SearchConfig(expansion_width=2, time_limit=None))
    sessions = [ScriptedSession(env, THEOREM) for _ in range(2)]
    with pytest.raises(Boom, match="model server died"):
        run_search_overlapped(search, sessions, Failing({}, default=uniform), lambda tactics: None)
    assert not search.done


def test_a_verifier_error_reaches_the_caller() -> None:
    env = ScriptedEnv("r", {"r": {"fin": QED}})

    def verify(tactics):
        raise Boom("lean crashed")

    search = BestFirstSearch(ScriptedSession(env, THEOREM).initial_state(), config=SearchConfig(**NO_TIME))
    with pytest.raises(Boom, match="lean crashed"):
        run_search_overlapped(search, [ScriptedSession(env, THEOREM)],
                              ScriptedPolicy({"r": [("fin", -0.1)]}), verify)


def test_an_error_in_work_finished_after_the_stop_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    env = ScriptedEnv("r", {"r": {"fin": QED, "boom": "x"}})
    search = SignallingSearch(ScriptedSession(env, THEOREM).initial_state(), config=SearchConfig(**NO_TIME))

    class Session(ScriptedSession):
        def run_tactic(self, state, tactic, *, timeout=None):
            if tactic == "boom":  # fails once the search has stopped with its proof
                assert search.stopped.wait(WAIT), "the search never stopped"
                raise Boom("late")
            return super().run_tactic(state, tactic, timeout=timeout)

    def verify(tactics):
        return ScriptedBackend(env).verify(THEOREM, tactics)

    with caplog.at_level(logging.WARNING, logger="search.overlap"):
        run_search_overlapped(search, [Session(env, THEOREM) for _ in range(2)],
                              ScriptedPolicy({"r": [("fin", -0.1), ("boom", -0.2)]}), verify)
    assert search.proof == ("fin",)
    assert "failed after the search stopped" in caplog.text


def test_no_sessions_is_refused() -> None:
    env = ScriptedEnv("r", {})
    search = BestFirstSearch(ScriptedSession(env, THEOREM).initial_state(), config=SearchConfig())
    with pytest.raises(ValueError, match="at least one session"):
        run_search_overlapped(search, [], ScriptedPolicy({}), lambda tactics: None)
    with pytest.raises(ValueError, match="sessions"):
        prove_overlapped(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({}), sessions=0)
