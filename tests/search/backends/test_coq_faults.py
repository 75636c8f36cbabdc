"""Faults under real Coq: coqtop killed while it starts (retried), while it loads one theorem (that
theorem's fault alone) and mid-search (restarted and replayed), a tactic that hangs, a tactic that blows up
memory, and statements too long for coqtop's pipe. Each search must still end in a kernel-checked proof."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
from fault_fixtures import dying_coqtop, flaky_coqtop, load_deaths, start_counts

from search import SearchConfig, StopReason, prove
from search.backends.coq import CoqBackend, CoqBackendConfig, CoqSession
from search.errors import BackendUnavailableError, InvalidTheoremError, TheoremLoadError
from search.types import Candidate, TacticState, Theorem

ADD_0 = Theorem("add_0", "Theorem add_0 : forall n m : nat, n + 0 = n /\\ m = m.",
                "Require Import Arith Lia.")
# cbv builds 2^27 tree nodes (no sharing, depth 27: memory runs out long before the stack)
HUNGRY_ADD_0 = Theorem(ADD_0.name, ADD_0.statement, ADD_0.header + "\nInductive tr := Lf | Nd (a b : tr).\n"
                       "Fixpoint big (n : nat) : tr := match n with 0 => Lf | S m => Nd (big m) (big m) end.")
HUNGRY = "let x := eval cbv in (big 27) in idtac"
TACTICS = ("intros n m", "split", "rewrite Nat.add_0_r", "reflexivity")
SEARCH = SearchConfig(max_expansions=30, tactics_per_node=8, time_limit=120, tactic_timeout=5)


class FixedPolicy:
    """Proposes ``tactics`` (best first) for every state; ``on_call`` runs before each batch."""

    def __init__(self, tactics: Sequence[str], on_call=None) -> None:
        self.tactics = list(tactics)
        self.calls = 0
        self.on_call = on_call

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls)
        return [[Candidate(t, -0.1 * (i + 1)) for i, t in enumerate(self.tactics)][:n] for _ in states]


class RecordingBackend(CoqBackend):
    """A Coq backend that keeps the sessions it opened, so a test can kill their coqtop."""

    def __init__(self, config: CoqBackendConfig | None = None) -> None:
        super().__init__(config)
        self.sessions: list[CoqSession] = []

    def open(self, theorem: Theorem) -> CoqSession:
        session = super().open(theorem)
        self.sessions.append(session)
        return session


def assert_verified_proof(result, backend: CoqBackend, theorem: Theorem) -> None:
    assert result.stop_reason is StopReason.PROVED, result.stats
    assert result.proof is not None and result.proof.verdict.ok
    assert backend.verify(theorem, result.proof.tactics).ok  # checked again, whole, by coqc


def test_a_coqtop_that_dies_on_its_first_starts_is_retried(tmp_path: Path) -> None:
    coqtop = flaky_coqtop(tmp_path, die_first=2)
    with CoqSession(ADD_0, CoqBackendConfig(coqtop=str(coqtop), start_backoff=0.01)) as session:
        assert isinstance(session.run_tactic(session.initial_state(), "intros n m"), TacticState)
    assert start_counts(tmp_path) == (2, 1)


def test_a_coqtop_that_always_dies_is_one_error_after_the_allowed_tries(tmp_path: Path) -> None:
    coqtop = flaky_coqtop(tmp_path, die_percent=100)
    config = CoqBackendConfig(coqtop=str(coqtop), start_attempts=3, start_backoff=0.01)
    with pytest.raises(BackendUnavailableError, match="coqtop died at start"):
        CoqSession(ADD_0, config)
    assert start_counts(tmp_path) == (3, 0)


def test_one_start_attempt_means_no_retry(tmp_path: Path) -> None:
    coqtop = flaky_coqtop(tmp_path, die_first=1)
    with pytest.raises(BackendUnavailableError):
        CoqSession(ADD_0, CoqBackendConfig(coqtop=str(coqtop), start_attempts=1))
    assert start_counts(tmp_path) == (1, 0)


def test_a_missing_coqtop_is_not_retried() -> None:
    with pytest.raises(BackendUnavailableError, match="coqtop not found"):
        CoqSession(ADD_0, CoqBackendConfig(coqtop="/nonexistent/coqtop", start_backoff=30))


def test_a_relative_coqtop_path_names_the_caller_s_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """coqtop runs in a directory of its own: ``./bin/coqtop`` must still be the caller's ``./bin/coqtop``,
    not a program that is not there (once: exit 127, reported as a coqtop dying at start)."""
    import shutil

    (tmp_path / "bin").mkdir()
    for program in ("coqtop", "coqc"):
        (tmp_path / "bin" / program).symlink_to(shutil.which(program))
    monkeypatch.chdir(tmp_path)
    config = CoqBackendConfig(coqtop="./bin/coqtop", coqc="bin/coqc", start_attempts=1)
    assert config.coqtop == str(tmp_path / "bin" / "coqtop") and config.coqc == str(tmp_path / "bin" / "coqc")
    backend = RecordingBackend(config)
    result = prove(ADD_0, backend=backend, policy=FixedPolicy(TACTICS), config=SEARCH)
    assert_verified_proof(result, backend, ADD_0)


def test_search_survives_coqtop_dying_at_start_and_at_every_restart(tmp_path: Path) -> None:
    """coqtop dies at its first start, then is killed mid-search twice, and each replacement dies at its
    first start too."""
    coqtop = flaky_coqtop(tmp_path / "flaky", die_on=(1, 3, 5))
    backend = RecordingBackend(CoqBackendConfig(coqtop=str(coqtop), start_backoff=0.01))

    def kill_coqtop(call: int) -> None:
        if call in (2, 3):
            os.kill(backend.sessions[0].pid, signal.SIGKILL)

    result = prove(ADD_0, backend=backend, policy=FixedPolicy(TACTICS, kill_coqtop), config=SEARCH)
    assert_verified_proof(result, backend, ADD_0)
    assert backend.sessions[0].restarts == 2
    died, ran = start_counts(tmp_path / "flaky")
    assert died == 3 and ran >= 3  # (the verifier's coqtop, reading the compiled proof, starts it too)


def test_search_survives_coqtop_killed_before_every_expansion() -> None:
    backend = RecordingBackend()
    pids: list[int] = []

    def kill_coqtop(call: int) -> None:
        if call > 1:
            pids.append(backend.sessions[0].pid)
            os.kill(pids[-1], signal.SIGKILL)

    result = prove(ADD_0, backend=backend, policy=FixedPolicy(TACTICS, kill_coqtop), config=SEARCH)
    assert_verified_proof(result, backend, ADD_0)
    assert len(pids) >= 3 and len(set(pids)) == len(pids)  # a fresh coqtop each time
    assert backend.sessions[0].restarts == len(pids)
    undisturbed = prove(ADD_0, backend=CoqBackend(), policy=FixedPolicy(TACTICS), config=SEARCH)
    assert result.proof.tactics == undisturbed.proof.tactics  # the kills changed nothing the search saw
    for counter in ("expansions", "tactic_calls", "new_states", "errors", "timeouts"):
        assert getattr(result.stats, counter) == getattr(undisturbed.stats, counter), counter


def test_a_hanging_tactic_is_a_timeout_and_the_search_goes_on() -> None:
    backend = CoqBackend(CoqBackendConfig(coq_timeout=False, kill_grace=0.1))
    config = SearchConfig(max_expansions=30, tactics_per_node=8, time_limit=120, tactic_timeout=0.5)
    policy = FixedPolicy(("do 1000000000 idtac", *TACTICS))
    result = prove(ADD_0, backend=backend, policy=policy, config=config)
    assert_verified_proof(result, backend, ADD_0)
    assert result.stats.timeouts >= 3  # tried (and killed) at each state on the way
    assert "idtac" not in " ".join(result.proof.tactics)


def test_a_memory_blow_up_is_an_error_and_the_search_goes_on() -> None:
    backend = CoqBackend(CoqBackendConfig(memory_limit_mb=900))
    hungry = HUNGRY
    result = prove(HUNGRY_ADD_0, backend=backend, policy=FixedPolicy((hungry, *TACTICS)),
                   config=SearchConfig(max_expansions=30, tactics_per_node=8, time_limit=120,
                                       tactic_timeout=30))
    assert_verified_proof(result, backend, HUNGRY_ADD_0)
    assert result.stats.errors >= 1 and hungry not in result.proof.tactics
    reasons = {edge.message for edge in result.graph.edges if edge.tactic == hungry}
    assert reasons and all("out of memory" in (reason or "").lower() for reason in reasons), reasons


def test_a_statement_too_long_for_coqtop_is_an_invalid_theorem(tmp_path: Path) -> None:
    coqtop = flaky_coqtop(tmp_path)
    statement = "Theorem big : " + " /\\ ".join(["1 = 1"] * 1_000_000) + "."  # about 9 MB
    with pytest.raises(InvalidTheoremError, match=r"the statement is 9\d{6} bytes long"):
        CoqSession(Theorem("big", statement), CoqBackendConfig(coqtop=str(coqtop)))
    assert start_counts(tmp_path) == (0, 0)  # refused before any coqtop started


def test_a_coqtop_dying_while_it_enters_the_proof_is_started_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from search.backends.coq import session as session_module
    from search.backends.process import ProcessDied

    real_enter = session_module.enter_proof
    calls: list[int] = []

    def dying_once(top, config, theorem):
        calls.append(top.pid)
        if len(calls) == 1:
            top.close()  # the process is gone, as if killed while loading the statement
            try:
                raise ProcessDied("coqtop", -9, "")
            except ProcessDied as exc:
                raise BackendUnavailableError("coq", f"coqtop died loading {theorem.name!r}") from exc
        return real_enter(top, config, theorem)

    monkeypatch.setattr(session_module, "enter_proof", dying_once)
    with CoqSession(ADD_0, CoqBackendConfig(start_backoff=0.01)) as session:
        assert isinstance(session.run_tactic(session.initial_state(), "intros n m"), TacticState)
    assert len(calls) == 2 and calls[0] != calls[1]  # a fresh coqtop the second time


@pytest.mark.parametrize(("audit_reuse", "die_on", "counts"), [
    (0, (1, 2), (2, 1)),  # a fresh audit coqtop per proof: it is the only coqtop
    (64, (2, 3), (2, 2)),  # the header check's coqtop first (start 1), then the persistent audit coqtop
])
def test_the_verifiers_coqtop_dying_at_start_is_retried(tmp_path: Path, audit_reuse: int,
                                                        die_on: tuple[int, ...],
                                                        counts: tuple[int, int]) -> None:
    """A proof found must not be lost because the auditing coqtop of its verification died starting."""
    coqtop = flaky_coqtop(tmp_path, die_on=die_on)
    with CoqBackend(CoqBackendConfig(coqtop=str(coqtop), start_backoff=0.01,
                                     audit_reuse=audit_reuse)) as backend:
        verdict = backend.verify(ADD_0, ["intros n m", "split", "rewrite Nat.add_0_r", "reflexivity",
                                         "reflexivity"])
    assert verdict.ok, verdict.messages
    assert start_counts(tmp_path) == counts


@pytest.mark.parametrize(("name", "header", "what"), [
    ("bad", "Require Import Arith.\nDefinition die_here := 0.", "the header"),
    ("die_here", "Require Import Arith.", "the statement"),
])
def test_a_coqtop_that_dies_loading_one_theorem_fails_that_theorem_alone(
        tmp_path: Path, name: str, header: str, what: str) -> None:
    """coqtop started (it gave its prompt) and then died on this theorem's header or statement, on every
    try: ``TheoremLoadError``, no verdict and no unavailable backend; the next theorem opens."""
    coqtop = dying_coqtop(tmp_path, "die_here")
    config = CoqBackendConfig(coqtop=str(coqtop), start_attempts=2, start_backoff=0.01)
    with CoqBackend(config) as backend:
        with pytest.raises(TheoremLoadError, match=f"could not load theorem '{name}': coqtop died loading "
                                                   f"{what}") as caught:
            backend.open(Theorem(name, f"Theorem {name} : True.", header))
        assert caught.value.theorem == name and isinstance(caught.value, BackendUnavailableError)
        assert load_deaths(tmp_path) == 2  # retried as a start is
        with backend.open(Theorem("good", "Theorem good : True.", "Require Import Arith.")) as session:
            assert isinstance(session.initial_state(), TacticState)


def test_a_header_that_outlasts_the_start_limit_is_no_invalid_theorem(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A load past ``start_timeout`` is a loaded machine's doing, not Coq refusing the theorem: a
    ``TheoremLoadError`` naming the option, which a sweep records as an error and runs again on a resume."""
    from search.backends.coq import launch
    from search.backends.process import ProcessTimeout

    def slow_header(top, config, theorem):  # type: ignore[no-untyped-def]
        raise ProcessTimeout("coqtop", config.start_timeout)

    monkeypatch.setattr(launch, "_load_header", slow_header)
    with pytest.raises(TheoremLoadError) as caught:
        CoqSession(ADD_0, CoqBackendConfig(start_timeout=7))
    assert not isinstance(caught.value, InvalidTheoremError)
    assert str(caught.value) == ("backend 'coq' could not load theorem 'add_0': coqtop did not load the "
                                 "header and the backend's imports within the start-up limit of 7 s (on a "
                                 "busy machine, raise start_timeout (--coq-start-timeout))")
