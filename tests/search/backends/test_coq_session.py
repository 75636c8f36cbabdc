"""CoqSession against real coqtop: states, backtracking across branches, errors, timeouts, crashes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, CoqHandle, CoqSession
from search.errors import BackendUnavailableError, InvalidTheoremError, TheoremLoadError
from search.protocols import Session
from search.types import ProofFinished, TacticError, TacticState, TacticTimeout, Theorem

ADD_0 = Theorem("add_0", "Theorem add_0 : forall n m : nat, n + 0 = n /\\ m = m.",
                "Require Import Arith Lia.")
# cbv builds 2^27 tree nodes (no sharing, depth 27: memory runs out long before the stack)
HUNGRY_ADD_0 = Theorem(ADD_0.name, ADD_0.statement, ADD_0.header + "\nInductive tr := Lf | Nd (a b : tr).\n"
                       "Fixpoint big (n : nat) : tr := match n with 0 => Lf | S m => Nd (big m) (big m) end.")
HUNGRY = "let x := eval cbv in (big 27) in idtac"
LIST = Theorem("app_nil", "Theorem app_nil : forall (A : Type) (l : list A), l ++ [] = l.",
               "Require Import List.\nImport ListNotations.")


@pytest.fixture
def session() -> Iterator[CoqSession]:
    with CoqSession(ADD_0) as s:
        yield s


def run(session: CoqSession, state: TacticState, *tactics: str) -> TacticState:
    """Apply ``tactics`` in turn; each must give a new goal state."""
    for tactic in tactics:
        result = session.run_tactic(state, tactic)
        assert isinstance(result, TacticState), (tactic, result)
        state = result
    return state


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


def test_session_protocol_and_initial_state(session: CoqSession) -> None:
    assert isinstance(session, Session)
    root = session.initial_state()
    assert root == session.initial_state()
    assert root.pp == "1 goal\n  ============================\n  forall n m : nat, n + 0 = n /\\ m = m"
    assert root.goals == ("============================\nforall n m : nat, n + 0 = n /\\ m = m",)
    assert root.handle == CoqHandle(())


def test_states_print_every_goal_in_full_without_ids(session: CoqSession) -> None:
    state = run(session, session.initial_state(), "intros n m.", "split")
    assert state.num_goals == 2
    assert "(ID" not in state.pp
    assert state.pp == (
        "2 goals\n  n, m : nat\n  ============================\n  n + 0 = n\n\n"
        "goal 2 is:\n  n, m : nat\n  ============================\n  m = m"
    )
    assert state.goals[1] == "n, m : nat\n============================\nm = m"
    assert state.handle == CoqHandle(("intros n m", "split"))


def test_identical_states_from_different_paths_compare_equal(session: CoqSession) -> None:
    root = session.initial_state()
    a = run(session, root, "intros n m", "split")
    b = run(session, root, "intros", "split")  # coqtop's evar ids differ, the printed goals do not
    assert a == b and hash(a) == hash(b)
    assert a.handle != b.handle


def test_backtracking_to_a_sibling_after_going_deep_elsewhere(session: CoqSession) -> None:
    root = session.initial_state()
    intro = run(session, root, "intros n m")
    deep = run(session, intro, "split", "simpl")
    other = run(session, intro, "destruct n")  # a sibling branch of "split"
    assert "0 + 0 = 0" in other.pp
    deeper = run(session, deep, "rewrite Nat.add_0_r")  # back on the first branch, one further
    assert "n = n" in deeper.pp
    assert session.run_tactic(other, "simpl") != other  # and across again
    finished = session.run_tactic(deeper, "reflexivity")
    assert isinstance(finished, TacticState) and finished.pp.startswith("1 goal")
    done = session.run_tactic(finished, "reflexivity")
    assert isinstance(done, ProofFinished)
    assert done.handle == CoqHandle(("intros n m", "split", "simpl", "rewrite Nat.add_0_r",
                                     "reflexivity", "reflexivity"))
    assert session.restarts == 0


def test_failing_tactic_is_an_error_and_the_state_survives(session: CoqSession) -> None:
    intro = run(session, session.initial_state(), "intros n m")
    error = session.run_tactic(intro, "exact I")
    assert isinstance(error, TacticError)
    assert "I" in error.message and "Toplevel input" not in error.message
    assert isinstance(session.run_tactic(intro, "no_such_tactic"), TacticError)
    assert isinstance(session.run_tactic(intro, "lia"), ProofFinished)


def test_refused_tactic_never_reaches_coq(session: CoqSession) -> None:
    result = session.run_tactic(session.initial_state(), "Admitted.")
    assert isinstance(result, TacticError) and "safety filter" in result.message
    assert isinstance(session.run_tactic(session.initial_state(), "intros. Qed."), TacticError)


def test_shelved_only_state_is_a_dead_end() -> None:
    theorem = Theorem("ex", "Theorem ex : exists n : nat, n = n.")
    with CoqSession(theorem) as s:
        result = s.run_tactic(s.initial_state(), "eexists; shelve")
        assert isinstance(result, TacticError) and "shelved" in result.message
        assert isinstance(s.run_tactic(s.initial_state(), "exists 0; reflexivity"), ProofFinished)


def test_what_a_tactic_prints_is_never_read_as_coqs_display() -> None:
    """An ``idtac`` of a term that reads like Coq's notices or a goal header: the focused fact ``1 = 2`` is
    not finished, and the unfocused session's state stays the real one."""
    printing = ("let x := constr:(fun but there are some unfocused goals : nat => "
                "but + there + are + some + unfocused + goals) in idtac x")
    theorem = Theorem("t", "Theorem t : 1 = 2 /\\ True.")
    with CoqSession(theorem, prefix=["assert (h0 : 1 = 2).", "1: {"], focused=True) as focused:
        result = focused.run_tactic(focused.initial_state(), printing)
        assert not isinstance(result, ProofFinished)
        assert isinstance(result, TacticState) and "1 = 2" in result.pp
    with CoqSession(theorem) as whole:
        root = whole.initial_state()
        assert whole.run_tactic(root, printing) == root


def test_a_statement_that_outlasts_its_limit_leaves_no_late_reply_for_the_next_theorem() -> None:
    """The statement keeps running in its coqtop after the limit: that coqtop is closed, not pooled, where
    its late reply would be read as the next theorem's."""
    header = "Require Import Arith."
    slow = Theorem("a", "Theorem a : ltac:(do 3000000 idtac; exact (1 = 1 :> bool)).", header)
    plain = Theorem("b", "Theorem b : 1 + 1 = 2.", header)
    with CoqBackend(CoqBackendConfig(start_timeout=0.5)) as backend:
        backend.open(plain).close()  # one idle coqtop at the header
        with pytest.raises(TheoremLoadError, match=r"did not load the statement within the start-up limit "
                                                    r"of 0\.5 s \(on a busy machine, raise start_timeout"):
            backend.open(slow)  # no verdict (not InvalidTheoremError): a loaded machine may be at fault
        for _ in range(2):
            with backend.open(plain) as session:
                assert session.initial_state().goals == ("============================\n1 + 1 = 2",)


def test_timeout_with_coqs_own_timeout_keeps_the_process(session: CoqSession) -> None:
    intro = run(session, session.initial_state(), "intros n m", "split")
    pid = session.pid
    started = time.monotonic()
    result = session.run_tactic(intro, "do 1000000000 idtac", timeout=1)
    assert result == TacticTimeout(1)
    assert time.monotonic() - started < 5
    assert session.pid == pid and session.restarts == 0
    assert isinstance(session.run_tactic(intro, "lia"), TacticState)


def test_timeout_past_the_deadline_kills_restarts_and_replays() -> None:
    config = CoqBackendConfig(coq_timeout=False, kill_grace=0.1)
    with CoqSession(ADD_0, config) as s:
        deep = run(s, s.initial_state(), "intros n m", "split", "simpl")
        pid = s.pid
        started = time.monotonic()
        assert s.run_tactic(deep, "do 1000000000 idtac", timeout=0.3) == TacticTimeout(0.3)
        assert time.monotonic() - started < 3
        assert not alive(pid)  # the whole process group is gone
        after = s.run_tactic(deep, "rewrite Nat.add_0_r")  # restored by replaying the path
        assert isinstance(after, TacticState) and "n = n" in after.pp
        assert s.restarts == 1 and s.pid != pid


def test_crash_recovery_from_a_deep_state(session: CoqSession) -> None:
    deep = run(session, session.initial_state(), "intros n m", "split", "simpl")
    sibling = run(session, deep, "rewrite Nat.add_0_r")
    pid = session.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = session.run_tactic(deep, "lia")  # coqtop was killed under the session
    assert isinstance(result, TacticState) and result.pp.startswith("1 goal")
    assert session.restarts == 1 and session.pid != pid
    assert isinstance(session.run_tactic(sibling, "reflexivity"), TacticState)


def test_memory_limit_makes_a_hungry_tactic_an_error() -> None:
    with CoqSession(HUNGRY_ADD_0, CoqBackendConfig(memory_limit_mb=900)) as s:
        hungry = s.run_tactic(s.initial_state(), HUNGRY, timeout=30)
        # the limit's own reason: without a limit the same tactic fails otherwise (a stack overflow)
        assert isinstance(hungry, TacticError) and "out of memory" in hungry.message.lower(), hungry
        assert isinstance(s.run_tactic(s.initial_state(), "intros"), TacticState)


def test_close_is_idempotent_and_kills_coqtop() -> None:
    s = CoqSession(ADD_0)
    pid = s.pid
    assert alive(pid)
    s.close()
    s.close()
    assert not alive(pid)
    with pytest.raises(RuntimeError):
        s.run_tactic(s.initial_state(), "intros")


def test_foreign_state_is_a_programming_error(session: CoqSession) -> None:
    with pytest.raises(ValueError):
        session.run_tactic(TacticState("1 goal"), "intros")


@pytest.mark.parametrize(("theorem", "reason"), [
    (Theorem("bad", "Theorem bad : forall n : nat, n + true = n."), "statement"),
    (Theorem("bad", "Theorem bad : undefined_thing."), "undefined_thing"),
    (Theorem("bad", "Theorem bad : True.", "Require Import NoSuchLibrary."), "NoSuchLibrary"),
    (Theorem("bad", "Theorem other : True."), "declares 'other'"),
    (Theorem("bad", "Theorem bad : True.", "Axiom cheat : False."), "not allowed"),
    (Theorem("bad", "Theorem bad : True. Proof. exact I. Qed."), "one sentence"),
])
def test_invalid_theorems_are_refused_with_coqs_reason(theorem: Theorem, reason: str) -> None:
    with pytest.raises(InvalidTheoremError) as caught:
        CoqBackend().open(theorem)
    assert caught.value.theorem == "bad"
    assert reason in caught.value.reason


def test_missing_coqtop_is_unavailable_with_the_fix() -> None:
    backend = CoqBackend(CoqBackendConfig(coqtop="/nonexistent/coqtop"))
    with pytest.raises(BackendUnavailableError) as caught:
        backend.open(ADD_0)
    assert "apt-get install coq" in str(caught.value)


def test_list_induction_states() -> None:
    with CoqBackend().open(LIST) as s:
        state = run(s, s.initial_state(), "intros A l", "induction l")
        assert state.num_goals == 2
        assert "IHl : l ++ [] = l" in state.goals[1]
        done = s.run_tactic(run(s, state, "reflexivity", "simpl", "rewrite IHl"), "reflexivity")
        assert isinstance(done, ProofFinished)


def test_long_replay_after_a_crash_goes_in_batches(session: CoqSession) -> None:
    long_noop = "(" + "; ".join(["idtac"] * 150) + ")"  # ~1 KB: a path of 12 is too long for one write
    state = run(session, session.initial_state(), "intros n m")
    for _ in range(12):
        state = run(session, state, long_noop)
    assert len(state.handle.path) == 13
    pid = session.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = session.run_tactic(state, "split")
    assert isinstance(result, TacticState) and result.num_goals == 2
    assert session.restarts == 1
