"""The attack suite of issue 11 against the real Coq backend: attack tactics on false theorems, headers that
would change what a statement means, and proof files that print the verifier's answer. Every attack is
refused by the safety filter or fails whole-proof verification: 0 false proofs."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from coq_attack_tactics import ATTACK_TACTICS, SHADOWING_HEADERS, SPOOFED_PROOFS

from search.backends.coq import CoqBackend, CoqBackendConfig, compile_and_check
from search.errors import InvalidTheoremError
from search.types import ProofFinished, TacticError, TacticState, Theorem

FALSE = Theorem("attack_false", "Theorem attack_false : False.")
ONE_TWO = Theorem("attack_one_two", "Theorem attack_one_two : 1 = 2.")


@pytest.fixture(scope="module")
def backend() -> Iterator[CoqBackend]:
    with CoqBackend(CoqBackendConfig(tactic_timeout=2)) as coq:
        yield coq


def test_the_attack_list_is_large_and_varied() -> None:
    assert len(ATTACK_TACTICS) >= 80
    assert len({a.kind for a in ATTACK_TACTICS}) >= 8
    assert len({a.tactic for a in ATTACK_TACTICS}) == len(ATTACK_TACTICS)


@pytest.mark.parametrize("theorem", [FALSE, ONE_TWO], ids=["False", "1=2"])
def test_no_attack_tactic_proves_a_false_theorem(backend: CoqBackend, theorem: Theorem) -> None:
    """Refused by the filter, or run by coqtop: whatever the session says, ``verify`` refuses the proof."""
    reached = [a.tactic for a in ATTACK_TACTICS if backend.check_tactic(a.tactic) is None]
    assert len(reached) < len(ATTACK_TACTICS) // 2  # most are refused before any Coq process sees them
    session = backend.open(theorem)
    try:
        finished = {t for t in reached if isinstance(session.run_tactic(session.initial_state(), t),
                                                     ProofFinished)}
    finally:
        session.close()
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = dict(zip(reached, pool.map(lambda t: backend.verify(theorem, [t]), reached), strict=True))
    false_proofs = {t: v.messages for t, v in verdicts.items() if v.ok}
    assert false_proofs == {}
    # the session is not fooled either (`shelve` only puts the goal aside: it is not a finished proof)
    assert finished == set()


def test_a_refused_tactic_is_never_compiled(backend: CoqBackend) -> None:
    for attack in ATTACK_TACTICS:
        if backend.check_tactic(attack.tactic) is not None:
            verdict = backend.verify(FALSE, ["idtac", attack.tactic])
            assert not verdict.ok and "refused" in verdict.messages[0] and verdict.proof_text == ""


@pytest.mark.parametrize(("header", "statement", "tactic"), SHADOWING_HEADERS)
def test_no_header_changes_what_a_statement_means(backend: CoqBackend, header: str, statement: str,
                                                  tactic: str) -> None:
    name = statement.split()[1]
    theorem = Theorem(name, statement, header)
    with pytest.raises(InvalidTheoremError):
        backend.open(theorem).close()
    assert not backend.verify(theorem, [tactic]).ok


@pytest.mark.parametrize("header", [
    "Require Import Lia. Definition D0 : nat := 1.",  # drawn like DeclConstant.DO, reachable only qualified
    "Require Import Reals. Open Scope R_scope. Definition x0 : R := 1. Definition P1 : R := 2.",
    "Require Import ZArith. Definition x1 : Z := 1%Z. Definition l : list nat := nil.",
])
def test_ordinary_names_drawn_like_obscure_library_names_are_fine(backend: CoqBackend, header: str) -> None:
    """Only names drawn like well-known ones (False, nat, Rle ...) are refused: x0 beside BinNums.xO, P1
    beside PI or l beside I are what math headers call things."""
    session = backend.open(Theorem("fine", "Theorem fine : True.", header))
    session.close()


@pytest.mark.parametrize(("name", "text"), SPOOFED_PROOFS, ids=[name for name, _ in SPOOFED_PROOFS])
def test_printed_verdicts_are_never_believed(name: str, text: str) -> None:
    verdict = compile_and_check(text, name, CoqBackendConfig(allowed_axioms=()))
    assert not verdict.ok
    assert verdict.axioms, verdict.messages  # the audit found what the proof really rests on


def test_a_tactic_that_prints_coqtop_s_prompt_is_an_error_and_the_session_goes_on() -> None:
    """A string built to read as coqtop's prompt (no quote or `<prompt` in the tactic's text) ends the
    reply early; the text after it shows the reply was unframed: the tactic is an error, the coqtop is
    replaced, and the next tactic's answer is its own (before, every later reply was one prompt late)."""
    spoof = "\nNo more goals.\n<prompt>t < 77 |t| 0 < </prompt>\n"
    codes = "::".join(str(ord(c)) for c in spoof)
    tactic = (f"let s := eval cbv in (String.string_of_list_ascii (List.map Ascii.ascii_of_nat "
              f"({codes}::nil))) in idtac s")
    theorem = Theorem("t", "Theorem t : False.", header="Require Import String.")
    with CoqBackend(CoqBackendConfig(tactic_timeout=5)) as coq:
        assert coq.check_tactic(tactic) is None  # nothing in its text gives it away
        session = coq.open(theorem)
        try:
            root = session.initial_state()
            result = session.run_tactic(root, tactic)
            assert isinstance(result, TacticError) and "imitates coqtop's prompt" in result.message
            assert result.transient
            after = session.run_tactic(root, "exfalso")
            assert isinstance(after, TacticState) and "False" in after.pp
        finally:
            session.close()


# Coq 8.16 kernel bugs that Print Assumptions cannot see (red-team run, 2026-12-07). Compiled unfiltered, each
# proof of False passes the audit (so these tests fail if the bug is gone or the filter lets it through).
VM_HEADER = "From Coq Require Import Uint63.\nOpen Scope uint63_scope."
VM_PROOF = ("assert (H1 : PrimInt63.addmuldiv 64 42 42 = 42) by (vm_compute; reflexivity)",
            "assert (H2 : PrimInt63.addmuldiv 64 42 42 = 0) by reflexivity",
            "rewrite H1 in H2",
            "exact (match H2 in _ = y return (if PrimInt63.eqb 42 y then True else False) with "
            "eq_refl => I end)")
MUTUAL = ("Theorem issue : forall n : nat, (match n with 0 => False | S _ => True end) -> False\n"
          "with issue2 : forall m : nat, True.")
MUTUAL_PROOF = (
    "intros n; destruct n as [|subn]", "intros h; exact h",
    "intros h; refine (let f (b : bool) (e : b = true) (x : nat) (Hx : match x with 0 => False | S m => "
    "match m with 0 => False | S _ => True end end) := let arg := (match (if b then x else subn) with 0 => "
    "subn | S subsubn => subsubn end) in issue arg _ in f true eq_refl 5 I)",
    "subst b; destruct x; cbn in Hx; [exfalso; assumption | assumption]", "intros; exact I")


def _whole(header: str, statement: str, tactics: tuple[str, ...]) -> str:
    return "\n".join([header, statement, "Proof.", *(f"{t}." for t in tactics), "Qed."]) + "\n"


def test_the_vm_s_primitive_integer_bug_is_kept_out_by_the_filter(backend: CoqBackend) -> None:
    """``vm_compute`` under ``Uint63``: 8.16's VM computes ``addmuldiv 64 42 42`` as 42, the kernel 0."""
    raw = compile_and_check(_whole(VM_HEADER, FALSE.statement, VM_PROOF), FALSE.name, CoqBackendConfig())
    assert raw.ok, raw.messages  # the bug: unfiltered, False is "proved" with allowed axioms only
    theorem = Theorem(FALSE.name, FALSE.statement, VM_HEADER)
    verdict = backend.verify(theorem, list(VM_PROOF))
    assert not verdict.ok and "vm_compute" in verdict.messages[0], verdict.messages


def test_a_mutual_statement_is_refused_before_its_proof_can_recurse(backend: CoqBackend) -> None:
    """``Theorem a : A with b : B`` gives the proof ``a`` as a recursive hypothesis: rocq#20455 then proves
    a false statement without the word ``fix``."""
    raw = compile_and_check(_whole("", MUTUAL, MUTUAL_PROOF), "issue", CoqBackendConfig())
    assert raw.ok, raw.messages
    with pytest.raises(InvalidTheoremError, match="'with' outside a match"):
        backend.open(Theorem("issue", MUTUAL))
