"""Whole-proof verification with real coqc: accepted proofs, and every way a proof must be refused."""

from __future__ import annotations

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, compile_and_check
from search.errors import BackendUnavailableError
from search.types import Theorem

APP_NIL = Theorem("app_nil", "Theorem app_nil : forall (A : Type) (l : list A), l ++ [] = l.",
                  "Require Import List.\nImport ListNotations.")
APP_NIL_PROOF = ["intros A l", "induction l", "reflexivity.", "simpl", "rewrite IHl", "reflexivity"]
NNPP = Theorem("dne", "Theorem dne : forall P : Prop, ~ ~ P -> P.", "Require Import Classical.")
STRICT = CoqBackendConfig(allowed_axioms=())


@pytest.fixture(scope="module")
def backend() -> CoqBackend:
    return CoqBackend()


def test_render_proof_is_the_whole_file(backend: CoqBackend) -> None:
    text = backend.render_proof(APP_NIL, ["intros A l", "induction l.", "  simpl  "])
    assert text == (
        "Require Import List.\nImport ListNotations.\n\n"
        "Theorem app_nil : forall (A : Type) (l : list A), l ++ [] = l.\n"
        "Proof.\n  intros A l.\n  induction l.\n  simpl.\nQed.\n"
    )
    bare = backend.render_proof(Theorem("t", "Theorem t : True."), ["exact I"])
    assert bare == "Theorem t : True.\nProof.\n  exact I.\nQed.\n"


def test_verify_accepts_a_closed_proof(backend: CoqBackend) -> None:
    verdict = backend.verify(APP_NIL, APP_NIL_PROOF)
    assert verdict.ok, verdict.messages
    assert verdict.axioms == ()
    assert verdict.proof_text == backend.render_proof(APP_NIL, APP_NIL_PROOF)


def test_verify_rejects_an_incomplete_proof_with_coqs_message(backend: CoqBackend) -> None:
    verdict = backend.verify(APP_NIL, APP_NIL_PROOF[:-1])
    assert not verdict.ok
    assert "incomplete proof" in verdict.messages[0]


def test_verify_rejects_a_wrong_tactic(backend: CoqBackend) -> None:
    verdict = backend.verify(APP_NIL, ["intros A l", "exact I"])
    assert not verdict.ok and "Error" in verdict.messages[0]


def test_verify_allows_and_reports_the_standard_librarys_axioms(backend: CoqBackend) -> None:
    verdict = backend.verify(NNPP, ["intros P H", "apply NNPP", "exact H"])
    assert verdict.ok, verdict.messages
    assert verdict.axioms == ("Coq.Logic.Classical_Prop.classic",)


def test_strict_config_rejects_and_names_the_axiom() -> None:
    verdict = CoqBackend(STRICT).verify(NNPP, ["intros P H", "apply NNPP", "exact H"])
    assert not verdict.ok
    assert verdict.axioms == ("Coq.Logic.Classical_Prop.classic",)
    assert "Coq.Logic.Classical_Prop.classic" in verdict.messages[0]


def test_allowed_axioms_are_matched_by_kernel_name() -> None:
    allowed = CoqBackend(CoqBackendConfig(allowed_axioms=("Coq.Logic.Classical_Prop.classic",)))
    assert allowed.verify(NNPP, ["intros P H", "apply NNPP", "exact H"]).ok
    short = CoqBackend(CoqBackendConfig(allowed_axioms=("classic", "Classical_Prop.classic")))
    assert not short.verify(NNPP, ["intros P H", "apply NNPP", "exact H"]).ok


def test_real_arithmetic_uses_the_reals_axioms(backend: CoqBackend) -> None:
    theorem = Theorem("r_lt", "Theorem r_lt : forall x : R, x < x + 1.",
                      "Require Import Reals Lra.\nOpen Scope R_scope.")
    verdict = backend.verify(theorem, ["intros x", "lra"])
    assert verdict.ok, verdict.messages
    assert verdict.axioms == ("Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
                              "Coq.Reals.ClassicalDedekindReals.sig_forall_dec")
    assert not CoqBackend(STRICT).verify(theorem, ["intros x", "lra"]).ok


SPOOF = "Closed under the global context"


def test_printed_verdict_text_is_never_read_as_the_verdict() -> None:
    """The attack of issue 11: a proof that prints Print Assumptions' answer itself."""
    text = ("Require Import Classical.\n\nTheorem em_t : forall P : Prop, P \\/ ~ P.\nProof.\n"
            f'  idtac "{SPOOF}".\n  intros P; exact (classic P).\nQed.\n')
    spoofed = compile_and_check(text, "em_t", STRICT)
    assert not spoofed.ok and spoofed.axioms == ("Coq.Logic.Classical_Prop.classic",)
    cheat = ("Axiom cheat : False.\nTheorem f : False.\nProof.\n"
             f'  idtac "{SPOOF}". idtac "Axioms:". exact cheat.\nQed.\n')
    verdict = compile_and_check(cheat, "f", CoqBackendConfig())
    assert not verdict.ok and verdict.axioms[0].endswith(".ProverCheck.cheat")


def test_spoofing_tactic_never_reaches_coq(backend: CoqBackend) -> None:
    theorem = Theorem("em_t", "Theorem em_t : forall P : Prop, P \\/ ~ P.", "Require Import Classical.")
    verdict = CoqBackend(STRICT).verify(theorem, [f'idtac "{SPOOF}"', "intros P; exact (classic P)"])
    assert not verdict.ok and "refused" in verdict.messages[0]


def test_definitions_that_skip_kernel_checks_are_rejected() -> None:
    text = ("Unset Guard Checking.\nFixpoint loop (n : nat) : False := loop n.\nSet Guard Checking.\n"
            "Theorem f : False.\nProof. exact (loop 0). Qed.\n")
    verdict = compile_and_check(text, "f", CoqBackendConfig())
    assert not verdict.ok and "assumed to be guarded" in verdict.messages[0]


@pytest.mark.parametrize("tactics", [["Admitted"], ["admit"], ["intros A l", "give_up"],
                                     ["intros. Qed. Theorem x : True"], ["Abort"]])
def test_verify_never_compiles_refused_tactics(backend: CoqBackend, tactics: list[str]) -> None:
    verdict = backend.verify(APP_NIL, tactics)
    assert not verdict.ok and "refused" in verdict.messages[0]
    assert verdict.proof_text == ""


def test_verify_refuses_an_axiom_in_the_header(backend: CoqBackend) -> None:
    theorem = Theorem("t", "Theorem t : False.", "Axiom cheat : False.")
    verdict = backend.verify(theorem, ["exact cheat"])
    assert not verdict.ok and "theorem refused" in verdict.messages[0]


def test_admitted_text_is_caught_by_print_assumptions() -> None:
    config = CoqBackendConfig()
    admitted = compile_and_check("Theorem x : False.\nProof.\nAdmitted.\n", "x", config)
    assert not admitted.ok and "itself is admitted" in admitted.messages[0]
    assert len(admitted.axioms) == 1 and admitted.axioms[0].endswith(".ProverCheck.x")
    given_up = compile_and_check("Theorem x : True.\nProof.\nadmit.\nQed.\n", "x", config)
    assert not given_up.ok and "given up" in given_up.messages[0]
    lemma = compile_and_check(
        "Lemma cheat : False. Admitted.\nTheorem x : 1 = 2.\nProof. destruct cheat. Qed.\n", "x", config)
    assert not lemma.ok and "not allowed" in lemma.messages[0]
    assert len(lemma.axioms) == 1 and lemma.axioms[0].endswith(".ProverCheck.cheat")
    missing = compile_and_check("Theorem y : True.\nProof. exact I. Qed.\n", "x", config)
    assert not missing.ok and "audit failed" in missing.messages[0]


def test_verify_timeout_is_a_failed_verdict() -> None:
    backend = CoqBackend(CoqBackendConfig(verify_timeout=0.01))
    verdict = backend.verify(APP_NIL, APP_NIL_PROOF)
    assert not verdict.ok and "did not finish" in verdict.messages[0]


def test_missing_coqc_is_unavailable() -> None:
    backend = CoqBackend(CoqBackendConfig(coqc="/nonexistent/coqc"))
    with pytest.raises(BackendUnavailableError, match="apt-get install coq"):
        backend.verify(APP_NIL, APP_NIL_PROOF)


def test_version(backend: CoqBackend) -> None:
    assert backend.version().count(".") >= 1


@pytest.mark.parametrize(("field", "value"), [
    ("tactic_timeout", 0), ("verify_timeout", -1), ("kill_grace", -0.1), ("memory_limit_mb", 10),
    ("max_restarts", 0), ("coqtop", " "), ("printing_depth", 3),
])
def test_config_is_validated(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        CoqBackendConfig(**{field: value})


def test_an_allowed_axiom_name_declared_outside_the_installed_library_is_rejected(tmp_path) -> None:
    """A load path can map a user folder onto ``Coq.Logic``; its ``Classical_Prop`` may then declare
    ``classic : False`` under the allowed kernel name. The audit asks where each axiom's library was
    loaded from and rejects the proof, with the fresh and the persistent audit coqtop alike; the real
    ``classic`` stays allowed."""
    import subprocess

    from search.backends.coq.audit_pool import AuditPool

    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "Classical_Prop.v").write_text("Axiom classic : False.\n")
    subprocess.run(["coqc", "-Q", str(evil), "Coq.Logic", "Classical_Prop.v"], cwd=evil, check=True,
                   capture_output=True)
    text = "Require Import Coq.Logic.Classical_Prop.\nTheorem f : False.\nProof.\n  exact classic.\nQed.\n"
    config = CoqBackendConfig(coq_args=("-Q", str(evil), "Coq.Logic"))
    auditors = AuditPool(config)
    try:
        for verdict in (compile_and_check(text, "f", config),
                        compile_and_check(text, "f", config, auditors=auditors)):
            assert not verdict.ok, verdict
            assert verdict.axioms == ("Coq.Logic.Classical_Prop.classic",)
            assert "declared outside the installed libraries" in verdict.messages[0]
            assert str(evil / "Classical_Prop.vo") in verdict.messages[0]
    finally:
        auditors.close()
    real = ("Require Import Classical.\nTheorem em : forall P : Prop, P \\/ ~ P.\nProof.\n  exact classic.\n"
            "Qed.\n")
    assert compile_and_check(real, "em", CoqBackendConfig()).ok


def test_coqlib_cannot_make_a_copy_of_the_library_the_installed_one(tmp_path, monkeypatch) -> None:
    """``COQLIB`` moves what ``coqc -where`` answers and where coqtop loads the library from: a copy whose
    ``Classical_Prop`` declares ``classic : False`` is loaded, and the audit finds the axiom outside the
    installed root (asked without ``COQLIB``)."""
    import shutil
    import subprocess
    from pathlib import Path

    real = Path(subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip())
    fake = tmp_path / "coq"
    logic = fake / "theories" / "Logic"
    logic.mkdir(parents=True)
    for entry in (real / "theories").iterdir():
        if entry.name != "Logic":
            (fake / "theories" / entry.name).symlink_to(entry)
    for entry in (real / "theories" / "Logic").iterdir():
        if not entry.name.startswith("Classical_Prop."):
            (logic / entry.name).symlink_to(entry)
    for entry in real.iterdir():
        if entry.name != "theories":
            (fake / entry.name).symlink_to(entry)
    if (real.parent / "coq-core").exists():  # the plugins, found beside the library
        (tmp_path / "coq-core").symlink_to(real.parent / "coq-core")
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "Classical_Prop.v").write_text("Axiom classic : False.\n")
    subprocess.run(["coqc", "-Q", str(evil), "Coq.Logic", "Classical_Prop.v"], cwd=evil, check=True,
                   capture_output=True)
    shutil.copy(evil / "Classical_Prop.vo", logic / "Classical_Prop.vo")
    monkeypatch.setenv("COQLIB", str(fake))
    text = "Require Import Coq.Logic.Classical_Prop.\nTheorem f : False.\nProof.\n  exact classic.\nQed.\n"
    verdict = compile_and_check(text, "f", CoqBackendConfig())
    assert not verdict.ok and "declared outside the installed libraries" in verdict.messages[0], verdict
