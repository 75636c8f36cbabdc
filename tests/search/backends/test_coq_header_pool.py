"""One coqtop per header, against real Coq: a backend brings its coqtop back to the state after the header
between theorems; nothing of one theorem reaches the next; the policy's imports are loaded after the header
and the verified file states the theorem under the header alone."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from search import SearchConfig, StopReason, prove
from search.backends.coq import CoqBackend, CoqBackendConfig
from search.backends.coq.imports import check_imports
from search.errors import InvalidTheoremError
from search.types import Candidate, ProofFinished, TacticError, TacticState, Theorem

HEADER = "Require Import Arith.\nDefinition double (n : nat) := n + n."


def theorem(name: str, body: str, header: str = HEADER) -> Theorem:
    return Theorem(name, f"Theorem {name} : {body}.", header)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


@pytest.fixture
def backend() -> Iterator[CoqBackend]:
    with CoqBackend(CoqBackendConfig(keep_coqtops=2)) as b:
        yield b


def test_the_next_theorem_with_the_same_header_reuses_the_coqtop(backend: CoqBackend) -> None:
    with backend.open(theorem("t1", "double 2 = 4")) as first:
        pid = first.pid
        assert not first.reused
        assert isinstance(first.run_tactic(first.initial_state(), "reflexivity"), ProofFinished)
    assert backend.pool.idle == 1 and alive(pid)
    # the same header, spelled with other whitespace
    with backend.open(theorem("t2", "forall n, double n = n + n", "Require Import Arith.\n\n"
                              "Definition   double (n : nat) := n + n.")) as second:
        assert second.reused and second.pid == pid
        assert second.initial_state().pp.endswith("forall n : nat, double n = n + n")
        state = second.run_tactic(second.initial_state(), "intros n")
        assert isinstance(state, TacticState) and "n : nat" in state.pp
    assert (backend.pool.started, backend.pool.reused) == (1, 1)


def test_nothing_of_one_search_reaches_the_next(backend: CoqBackend) -> None:
    with backend.open(theorem("t1", "True")) as first:
        pid = first.pid
        # Anything that changed Coq's environment during a search: a definition made mid-proof.
        reply = first._top.command("Definition leaked_def := 1.", 10)
        assert reply.error is None
        assert isinstance(first.run_tactic(first.initial_state(), "exact I"), ProofFinished)
    with pytest.raises(InvalidTheoremError, match="leaked_def was not found"):
        backend.open(theorem("t2", "leaked_def = 1"))
    # The same name again: the earlier proof of t1 is gone too, and the coqtop is still the first one.
    with backend.open(theorem("t1", "double 1 = 2")) as again:
        assert again.reused and again.pid == pid
        assert isinstance(again.run_tactic(again.initial_state(), "unfold leaked_def"), TacticError)
        assert isinstance(again.run_tactic(again.initial_state(), "reflexivity"), ProofFinished)


def test_other_headers_get_their_own_coqtop_and_the_oldest_idle_one_goes(backend: CoqBackend) -> None:
    pids = []
    for index, header in enumerate(("Require Import Arith.", "Require Import List.", "Require Import Bool.")):
        with backend.open(theorem(f"h{index}", "True", header)) as session:
            assert not session.reused
            pids.append(session.pid)
    assert backend.pool.idle == 2
    assert [alive(pid) for pid in pids] == [False, True, True]
    backend.close()
    assert not any(alive(pid) for pid in pids)


def test_a_killed_coqtop_never_goes_back_to_the_pool(backend: CoqBackend) -> None:
    with backend.open(theorem("t1", "True")) as session:
        os.kill(session.pid, signal.SIGKILL)
        assert isinstance(session.run_tactic(session.initial_state(), "exact I"), ProofFinished)
        assert session.restarts == 1
        replacement = session.pid
    with backend.open(theorem("t2", "True")) as session:
        assert session.reused and session.pid == replacement
    with backend.open(theorem("t3", "True")) as session:
        os.kill(session.pid, signal.SIGKILL)
    assert backend.pool.idle == 0


def test_a_theorem_coq_rejects_leaves_the_coqtop_fit_for_the_next(backend: CoqBackend) -> None:
    with pytest.raises(InvalidTheoremError, match="statement"):
        backend.open(theorem("bad", "no_such_name = 1"))
    with backend.open(theorem("good", "double 0 = 0")) as session:
        assert session.reused


def test_imports_must_be_require_sentences() -> None:
    assert check_imports(("Require Import Lia.", "From Hammer Require Import Tactics.")) is None
    for bad in ("Require Import Lia. Axiom x : False.", "Axiom x : False.", "Require Import Lia",
                "Load Foo.", "Require Import Lia.\nSet Guard Checking."):
        assert check_imports((bad,)) is not None, bad
    with pytest.raises(ValueError, match="not one `Require Import"):
        CoqBackendConfig(imports=("Unset Guard Checking.",))


class OnePolicy:
    def __init__(self, *tactics: str) -> None:
        self.tactics = tactics

    def propose(self, states, n):
        return [[Candidate(t, -0.1 * (i + 1)) for i, t in enumerate(self.tactics)][:n] for _ in states]


SEARCH = SearchConfig(max_expansions=4, tactics_per_node=2, time_limit=120, tactic_timeout=10)


def test_imports_load_after_the_header_and_the_verified_file_holds_them() -> None:
    thm = theorem("square", "forall a b : nat, a <= b -> a * a <= b * b", "Require Import Arith.")
    with CoqBackend(CoqBackendConfig(imports=("Require Import Lia.",))) as backend:
        result = prove(thm, backend=backend, policy=OnePolicy("intros", "nia"), config=SEARCH)
    assert result.stop_reason is StopReason.PROVED
    text = result.proof.text
    assert text.index("Require Import Arith.") < text.index("Require Import Lia.") < text.index("Proof.")
    assert "Module Type ProverStatementUnderHeader." in text and "<: ProverStatementUnderHeader" in text
    with CoqBackend() as plain:  # without the import, nia does not exist
        assert not prove(thm, backend=plain, policy=OnePolicy("intros", "nia"), config=SEARCH).proved


def test_an_import_that_changes_the_statement_cannot_prove_it() -> None:
    """Under its header, ``fact 3 = 6`` is false (the header's ``fact`` is 0); the import shadows ``fact``
    with the library's factorial, under which the session proves it by computation. The verified file
    states the theorem under the header alone too, and Coq refuses the proof."""
    thm = theorem("shadowed", "fact 3 = 6", "Definition fact (n : nat) : nat := 0.")
    with CoqBackend(CoqBackendConfig(imports=("Require Import Factorial.",))) as backend:
        with backend.open(thm) as session:
            assert isinstance(session.run_tactic(session.initial_state(), "reflexivity"), ProofFinished)
        verdict = backend.verify(thm, ["reflexivity"])
        assert not verdict.ok
        assert "do not match" in " ".join(verdict.messages)
        result = prove(thm, backend=backend, policy=OnePolicy("reflexivity"), config=SEARCH)
    assert not result.proved and result.stats.proofs_rejected >= 1
