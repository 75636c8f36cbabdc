"""When an exhausted search may record its states as failed in the proof cache: never after a proof that
verification rejected, nor after an infrastructure error (``TacticError.transient``), with either driver."""

from __future__ import annotations

import pickle

import pytest
from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy, ScriptedSession

from search import InMemoryProofCache, SearchConfig, SearchResult, StopReason, TacticError, goal_key, prove
from search.types import TacticResult, TacticState

CFG = SearchConfig(time_limit=None)
DRIVERS = {"sequential": {"sessions": 1}, "overlapped-width-1": {"sessions": 2},
           "overlapped-width-2": {"sessions": 2, "width": 2}}


def run(env: ScriptedEnv, policy: ScriptedPolicy, cache: InMemoryProofCache, driver: str,
        backend: ScriptedBackend | None = None):
    options = dict(DRIVERS[driver])
    config = SearchConfig(time_limit=None, expansion_width=options.pop("width", 1))
    return prove(THEOREM, backend=backend or ScriptedBackend(env), policy=policy, config=config,
                 cache=cache, sessions=options["sessions"])


def through_k(root: str, tactic: str) -> tuple[ScriptedEnv, ScriptedPolicy]:
    """``root -tactic-> K -q-> QED``: K is provable; whether the whole proof verifies is the env's."""
    env = ScriptedEnv(root=root, moves={root: {tactic: "K"}, "K": {"q": QED}})
    return env, ScriptedPolicy({root: [(tactic, -0.1)], "K": [("q", -0.1)]}, fingerprint="p")


def then_b_is_proved(cache: InMemoryProofCache, driver: str) -> None:
    """Another theorem reaching K proves it through K: K was not recorded as failed."""
    env, policy = through_k("B", "t2")
    result = run(env, policy, cache, driver)
    assert result.proved and result.stats.cache_skips == 0 and "K" in policy.asked


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_a_search_whose_proof_verification_rejected_records_no_failure(driver: str) -> None:
    """Verification can reject a proof for its path (a timeout with a long prefix, a verifier that
    failed), which says nothing about the states on it."""
    cache = InMemoryProofCache()
    env, policy = through_k("A", "t1")
    env.rejected_proofs.add(("t1", "q"))
    first = run(env, policy, cache, driver)
    assert first.stop_reason is StopReason.EXHAUSTED and first.stats.proofs_rejected == 1
    assert len(cache) == 0 and cache.lookup(goal_key("K").key) is None
    then_b_is_proved(cache, driver)


class CrashingBackend(ScriptedBackend):
    """``crash_at`` fails every tactic with an error of the given kind (transient or not)."""

    def __init__(self, env: ScriptedEnv, crash_at: str, transient: bool) -> None:
        super().__init__(env)
        self.crash_at, self.transient = crash_at, transient

    def open(self, theorem):
        backend = self

        class Session(ScriptedSession):
            def run_tactic(self, state: TacticState, tactic: str, *, timeout=None) -> TacticResult:
                if state.pp == backend.crash_at:
                    return TacticError("Lean crashed: killed by signal 9", transient=backend.transient)
                return super().run_tactic(state, tactic, timeout=timeout)

        session = Session(self.env, theorem)
        self.sessions.append(session)
        return session


def exhaust_a(driver: str, *, transient: bool) -> tuple[InMemoryProofCache, SearchResult]:
    """Theorem A's search through K, whose only tactic errs (``transient``: as infrastructure does)."""
    cache = InMemoryProofCache()
    env, policy = through_k("A", "t1")
    return cache, run(env, policy, cache, driver, backend=CrashingBackend(env, "K", transient=transient))


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_a_search_that_met_an_infrastructure_error_records_no_failure(driver: str) -> None:
    cache, first = exhaust_a(driver, transient=True)
    assert first.stop_reason is StopReason.EXHAUSTED and first.stats.errors == 1
    assert len(cache) == 0
    then_b_is_proved(cache, driver)


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_the_same_error_from_the_tactic_itself_is_recorded(driver: str) -> None:
    """The control: an ordinary error is the tactic's, and the exhausted states are recorded and skipped."""
    cache, first = exhaust_a(driver, transient=False)
    assert first.stop_reason is StopReason.EXHAUSTED and cache.stats.failures == 2
    env_b, policy_b = through_k("B", "t2")
    second = run(env_b, policy_b, cache, driver)
    assert second.stop_reason is StopReason.EXHAUSTED and second.stats.cache_skips == 1
    assert "K" not in policy_b.asked


def test_an_exhausted_search_with_ordinary_errors_still_records_its_failures() -> None:
    cache = InMemoryProofCache()
    env = ScriptedEnv(root="r", moves={"r": {"a": "s", "bad": Fail("no")}, "s": {"b": "t"}})
    policy = ScriptedPolicy({"r": [("a", -0.1), ("bad", -0.2)], "s": [("b", -0.1)]}, fingerprint="p")
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG, cache=cache)
    assert result.stop_reason is StopReason.EXHAUSTED and result.stats.errors == 1
    assert cache.stats.failures == 3


def test_tactic_error_keeps_its_constructor_and_pickles() -> None:
    plain = TacticError("unknown tactic")
    assert plain.transient is False and plain == TacticError(message="unknown tactic")
    crash = TacticError("Lean crashed", transient=True)
    assert crash != plain and pickle.loads(pickle.dumps(crash)) == crash
    assert pickle.loads(pickle.dumps(plain)) == plain
    with pytest.raises(TypeError):
        TacticError("Lean crashed", True)  # type: ignore[misc]  # keyword only: never set by accident


def test_lean_repl_process_failures_are_transient() -> None:
    from search.backends.lean.repl_messages import ReplProtocolError
    from search.backends.lean.repl_process import MemoryLimitExceeded
    from search.backends.lean.repl_session import failure_result
    from search.backends.process import ProcessDied, ProcessTimeout
    from search.types import TacticTimeout

    for exc in (MemoryLimitExceeded("lean", 2 << 30, 1 << 30), ProcessDied("lean", -9, ""),
                ReplProtocolError("garbage")):
        result = failure_result(exc, 5.0)
        assert isinstance(result, TacticError) and result.transient, exc
    assert failure_result(ProcessTimeout("lean", 5.0), 5.0) == TacticTimeout(5.0)
