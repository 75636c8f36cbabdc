"""The persistent axiom audit, against real Coq: one audit coqtop checks many compiled proofs, each with its
own verdict; nothing of one proof reaches the next; printed verdict text is still never read; a dead audit
coqtop is replaced, one worn by ``audit_reuse`` proofs too."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, compile_and_check
from search.backends.coq.audit_pool import Auditor, AuditPool
from search.backends.coq.imports import library_requires
from search.errors import BackendUnavailableError
from search.types import Theorem

CONFIG = CoqBackendConfig()
STRICT = CoqBackendConfig(allowed_axioms=())
SPOOF = "Closed under the global context"
ADMITTED = "Theorem x : False.\nProof.\nAdmitted.\n"
PROVED = "Theorem x : True.\nProof.\nexact I.\nQed.\n"
CHEAT = "Axiom cheat : False.\nTheorem x : 1 = 2.\nProof. destruct cheat. Qed.\n"
CLASSICAL = ("Require Import Classical.\nTheorem x : forall P : Prop, P \\/ ~ P.\nProof.\n"
             "intros P; exact (classic P).\nQed.\n")
REALS = Theorem("r_lt", "Theorem r_lt : forall x : R, x < x + 1.",
                "Require Import Reals Lra.\nOpen Scope R_scope.")


@pytest.fixture
def pool() -> Iterator[AuditPool]:
    auditors = AuditPool(CONFIG)
    yield auditors
    auditors.close()


def only_auditor(auditors: AuditPool) -> Auditor:
    idle = auditors.idle()
    assert len(idle) == 1
    return idle[0]


def test_each_proof_in_one_audit_coqtop_gets_its_own_verdict(pool: AuditPool) -> None:
    """The same theorem name, admitted, proved, proved with an axiom of its own and classically: each
    verdict is that file's, all from the same coqtop."""
    first = compile_and_check(ADMITTED, "x", CONFIG, auditors=pool)
    assert not first.ok and "itself is admitted" in first.messages[0]
    pid = only_auditor(pool).pid
    proved = compile_and_check(PROVED, "x", CONFIG, auditors=pool)
    assert proved.ok and proved.axioms == (), proved.messages
    cheat = compile_and_check(CHEAT, "x", CONFIG, auditors=pool)
    assert not cheat.ok and len(cheat.axioms) == 1 and cheat.axioms[0].endswith(".ProverCheck.cheat")
    classical = compile_and_check(CLASSICAL, "x", CONFIG, auditors=pool)
    assert classical.ok and classical.axioms == ("Coq.Logic.Classical_Prop.classic",)
    again = compile_and_check(ADMITTED, "x", CONFIG, auditors=pool)
    assert not again.ok and "itself is admitted" in again.messages[0]
    assert pool.started == 1 and only_auditor(pool).pid == pid
    assert only_auditor(pool).audits == 5


def test_printed_verdict_text_is_never_read_by_the_persistent_audit(pool: AuditPool) -> None:
    """The attack of issue 11 against the persistent auditor, before and after an honest proof."""
    spoof = ("Require Import Classical.\n\nTheorem em_t : forall P : Prop, P \\/ ~ P.\nProof.\n"
             f'  idtac "{SPOOF}".\n  intros P; exact (classic P).\nQed.\n')
    strict = AuditPool(STRICT)
    try:
        for _ in range(2):
            spoofed = compile_and_check(spoof, "em_t", STRICT, auditors=strict)
            assert not spoofed.ok and spoofed.axioms == ("Coq.Logic.Classical_Prop.classic",)
    finally:
        strict.close()
    assert compile_and_check(PROVED, "x", CONFIG, auditors=pool).ok
    cheat = ("Axiom cheat : False.\nTheorem f : False.\nProof.\n"
             f'  idtac "{SPOOF}". idtac "Axioms:". exact cheat.\nQed.\n')
    verdict = compile_and_check(cheat, "f", CONFIG, auditors=pool)
    assert not verdict.ok and verdict.axioms[0].endswith(".ProverCheck.cheat")
    assert pool.started == 1


def test_a_proofs_global_options_do_not_outlive_its_audit(pool: AuditPool) -> None:
    """``Require`` applies a file's ``Global Set``; going back to the base state takes it away again."""
    text = "Global Set Printing All.\n" + PROVED
    assert compile_and_check(text, "x", CONFIG, auditors=pool).ok
    reply = only_auditor(pool).top.command("Test Printing All.", 30)
    assert "Printing All is off" in reply.output


def test_a_killed_audit_coqtop_is_replaced(pool: AuditPool) -> None:
    assert compile_and_check(PROVED, "x", CONFIG, auditors=pool).ok
    pid = only_auditor(pool).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    verdict = compile_and_check(CLASSICAL, "x", CONFIG, auditors=pool)
    assert verdict.ok and verdict.axioms == ("Coq.Logic.Classical_Prop.classic",)
    assert pool.started == 2 and only_auditor(pool).pid != pid


def test_an_audit_coqtop_that_dies_mid_audit_after_earlier_proofs_is_replaced_once(
        pool: AuditPool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert compile_and_check(PROVED, "x", CONFIG, auditors=pool).ok
    load = Auditor.load

    def dies_once(self: Auditor, libraries: tuple[str, ...], deadline: float) -> None:
        if self.audits > 0 and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
        load(self, libraries, deadline)

    monkeypatch.setattr(Auditor, "load", dies_once)
    verdict = compile_and_check(CLASSICAL, "x", CONFIG, auditors=pool)
    assert verdict.ok, verdict.messages
    assert pool.started == 2


def test_a_fresh_audit_coqtop_that_dies_fails_the_audit(pool: AuditPool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def dies(self: Auditor, libraries: tuple[str, ...], deadline: float) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        self.top.command("Check I.", 30)

    monkeypatch.setattr(Auditor, "load", dies)
    verdict = compile_and_check(PROVED, "x", CONFIG, auditors=pool)
    assert not verdict.ok and "died during the axiom audit" in verdict.messages[0]
    assert pool.idle() == []


def test_an_audit_coqtop_is_replaced_after_audit_reuse_proofs() -> None:
    config = CoqBackendConfig(audit_reuse=2)
    auditors = AuditPool(config)
    try:
        pids = []
        for _ in range(3):
            assert compile_and_check(PROVED, "x", config, auditors=auditors).ok
            pids.append(only_auditor(auditors).pid if auditors.idle() else None)
        assert pids[0] is not None and pids[1] is None and pids[2] not in (None, pids[0])
        assert auditors.started == 2
    finally:
        auditors.close()


def test_the_backend_audits_its_proofs_in_one_coqtop_with_the_libraries_loaded() -> None:
    with CoqBackend(CoqBackendConfig(imports=("Require Import Lia.",))) as backend:
        assert backend.auditors is not None
        first = backend.verify(REALS, ["intros x", "lra"])
        assert first.ok, first.messages
        assert first.axioms == ("Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
                                "Coq.Reals.ClassicalDedekindReals.sig_forall_dec")
        auditor = only_auditor(backend.auditors)
        assert auditor.libraries == {"Require Reals Lra.", "Require Lia."}
        nat = Theorem("n_le", "Theorem n_le : forall n : nat, n <= n + 1.", "Require Import Arith.")
        second = backend.verify(nat, ["intros n", "lia"])
        assert second.ok and second.axioms == (), second.messages
        assert not backend.verify(nat, ["intros n", "lra"]).ok
        assert backend.auditors.started == 1 and only_auditor(backend.auditors) is auditor
        assert "Require Arith." in auditor.libraries


def test_the_header_is_checked_before_a_persistent_audit() -> None:
    """A header that redefines a name its statement uses is refused though this process never loaded it
    (a fresh coqtop loads it for the check; the audit coqtop never runs header text)."""
    theorem = Theorem("f3", "Theorem f3 : False.", "Definition False := True.")
    with CoqBackend() as backend:
        verdict = backend.verify(theorem, ["exact I"])
    assert not verdict.ok and "'False'" in verdict.messages[0]


def test_audit_reuse_zero_keeps_a_fresh_audit_coqtop_per_proof() -> None:
    with CoqBackend(CoqBackendConfig(audit_reuse=0)) as backend:
        assert backend.auditors is None
        verdict = backend.verify(REALS, ["intros x", "lra"])
        assert verdict.ok and "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in verdict.axioms
    with pytest.raises(ValueError, match="audit_reuse"):
        AuditPool(CoqBackendConfig(audit_reuse=0))


def test_library_requires_load_without_importing() -> None:
    sentences = ["Require Import Reals.", "From  Hammer Require Import Tactics.", "Open Scope R_scope.",
                 "Require Export List Arith.", "Require Import Reals.", "Definition d := 0."]
    assert library_requires(sentences) == ("Require Reals.", "From Hammer Require Tactics.",
                                           "Require List Arith.")


@pytest.mark.parametrize("program", ["coqtop", "coqc"])
def test_a_missing_coq_program_is_unavailable_before_the_header_check(program: str) -> None:
    theorem = Theorem("t", "Theorem t : True.", "Require Import Arith.")
    config = CoqBackendConfig(coqtop="/nonexistent/coqtop") if program == "coqtop" else CoqBackendConfig(
        coqc="/nonexistent/coqc")
    with CoqBackend(config) as backend, pytest.raises(BackendUnavailableError, match="not found"):
        backend.verify(theorem, ["exact I"])
