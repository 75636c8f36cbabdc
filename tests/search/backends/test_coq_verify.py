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


def test_verify_reports_axioms_of_a_classical_proof(backend: CoqBackend) -> None:
    verdict = backend.verify(NNPP, ["intros P H", "apply NNPP", "exact H"])
    assert not verdict.ok
    assert verdict.axioms == ("classic",)
    assert "classic" in verdict.messages[0]


def test_allowed_axioms_are_accepted_and_still_reported() -> None:
    backend = CoqBackend(CoqBackendConfig(allowed_axioms=("classic",)))
    verdict = backend.verify(NNPP, ["intros P H", "apply NNPP", "exact H"])
    assert verdict.ok and verdict.axioms == ("classic",)


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
    assert not admitted.ok and admitted.axioms == ("x",)
    given_up = compile_and_check("Theorem x : True.\nProof.\nadmit.\nQed.\n", "x", config)
    assert not given_up.ok and "given up" in given_up.messages[0]
    lemma = compile_and_check(
        "Lemma cheat : False. Admitted.\nTheorem x : 1 = 2.\nProof. destruct cheat. Qed.\n", "x", config)
    assert not lemma.ok and lemma.axioms == ("cheat",)


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
