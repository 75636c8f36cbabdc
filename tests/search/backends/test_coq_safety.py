"""The Coq safety filter: adversarial tactics, statements and headers (no Coq process needed)."""

from __future__ import annotations

import pytest

from search.backends.coq.safety import (
    check_coq_header,
    check_coq_statement,
    check_coq_tactic,
    check_coq_theorem,
    statement_name,
)
from search.backends.coq.sentences import SentenceError, split_sentences, tactic_body, tactic_sentence

ACCEPTED = [
    "intros",
    "intros.",
    "intros n m.",
    "  lia  ",
    "rewrite Nat.add_comm",  # qualified names contain dots
    "rewrite Nat.add_comm.",
    "apply (Nat.le_trans _ _ _ H1 H2)",
    "assert (H : 1.5 = 1.5) by reflexivity",  # a dot inside a numeral
    "exact (x.(fst))",  # projection syntax
    "induction n as [|n IHn]; simpl; lia",
    "2: lia",
    "all: simpl",
    "[G]: auto",
    "1,2: reflexivity",
    "1-3: auto",
    "par: lia",
    "(intros; lia)",
    "[> lia | auto]",
    "destruct H as [x [HP HQ]]",
    "exists {| fst := 1; snd := 2 |}",
    "intros\n  n",  # newlines inside one sentence
    "unshelve eapply H",
    "compute",
    "exact (fun x : Set => x)",
]

REFUSED = {
    "": "empty",
    "   ": "empty",
    ".": "empty",
    "intros. lia.": "more than one sentence",
    "intros. lia": "more than one sentence",
    "intros.\nQed.": "more than one sentence",
    "lia...": "ellipsis",
    "admit": "'admit'",
    "give_up": "'give_up'",
    "lia || admit": "'admit'",
    "exact ltac:(admit)": "'admit'",
    "Admitted": "Coq commands",
    "Qed": "Coq commands",
    "Defined.": "Coq commands",
    "Abort": "Coq commands",
    "Proof": "Coq commands",
    "Require Import Classical": "Coq commands",
    "Import ListNotations": "Coq commands",
    "Set Nested Proofs Allowed": "Coq commands",
    "Unset Guard Checking": "Coq commands",
    "Load foo": "Coq commands",
    "Axiom cheat : False": "Coq commands",
    "Parameter cheat : False": "Coq commands",
    "Hypothesis H : False": "Coq commands",
    "Variable x : nat": "Coq commands",
    "Declare ML Module \"foo\"": "string",
    "Declare ML Module foo": "Coq commands",
    "Extraction nat": "Coq commands",
    "Redirect foo Print nat": "Coq commands",
    "Drop": "Coq commands",
    "Time lia": "Coq commands",
    "Timeout 100 lia": "Coq commands",
    "Fail lia": "Coq commands",
    "Succeed lia": "Coq commands",
    "Show": "Coq commands",
    "Reset Initial": "Coq commands",
    "Back": "Coq commands",
    "BackTo 1": "Coq commands",
    "Undo": "Coq commands",
    "Restart": "Coq commands",
    "Ltac foo := idtac": "Coq commands",
    "Definition x := 1": "Coq commands",
    "Lemma foo : True": "Coq commands",
    "Unshelve": "Coq commands",
    "#[bypass_check(guard)] fix f 1": "Coq commands",
    "all: Qed": "Coq commands",
    "2: Admitted": "Coq commands",
    "- lia": "bullets",
    "+ lia": "bullets",
    "* lia": "bullets",
    "{ lia": "braces",
    "}": "braces",
    "lia (* . Qed. *)": "comments",
    "(* *) lia": "comments",
    "idtac \"x. Qed.\"": "string",
    "exact_no_check I": "'exact_no_check'",
    "change_no_check True": "'change_no_check'",
    "native_compute": "'native_compute'",
    # Coq 8.16's VM computes PrimInt63.addmuldiv wrongly (rocq#19402): the kernel re-runs the VM's cast
    "vm_compute": "'vm_compute'",
    "assert (H : 1 = 1) by (vm_compute; reflexivity)": "'vm_compute'",
    "exact (eq_refl <: 1 = 1)": "'<:' (a vm_compute cast)",
    # Ltac2 builds a fixpoint from the kernel's constructors without the word fix
    "ltac2:(Control.refine (fun () => constr:(I)))": "'ltac2'",
    "lia\x00": "character",
    "lia\x0b": "character",
    "lia\u00a0.": "character",  # a non-breaking space could end a sentence for one reader only
    "lia\u2028": "character",
    "exact <prompt>x < 3 |x| 0 < </prompt>": "prompt",
    "apply Foo.admit": "'admit'",
    "x" * 3000: "longer than",
    "2:": "without a tactic",
    "Nat.add_comm": "Coq commands",
}


@pytest.mark.parametrize("tactic", ACCEPTED)
def test_accepted_tactics(tactic: str) -> None:
    assert check_coq_tactic(tactic) is None


@pytest.mark.parametrize(("tactic", "reason"), sorted(REFUSED.items()))
def test_refused_tactics_name_the_reason(tactic: str, reason: str) -> None:
    got = check_coq_tactic(tactic)
    assert got is not None, f"{tactic!r} must be refused"
    assert reason in got


def test_tactic_spelling_is_one_sentence() -> None:
    assert tactic_body("  intros\n  n m . ") == "intros n m"
    assert tactic_sentence("lia") == "lia."
    assert tactic_sentence("lia.") == "lia."
    assert tactic_sentence("rewrite Nat.add_comm") == "rewrite Nat.add_comm."


def test_sentence_splitting() -> None:
    text = "Require Import Arith.\nDefinition x := Nat.add 1 2.\n  Import ListNotations."
    assert split_sentences(text) == ["Require Import Arith.", "Definition x := Nat.add 1 2.",
                                     "Import ListNotations."]
    assert split_sentences("") == []
    with pytest.raises(SentenceError):
        split_sentences("Require Import Arith")
    with pytest.raises(SentenceError):
        split_sentences("Require Import Arith. Import")


@pytest.mark.parametrize("statement", [
    "Theorem t : forall n : nat, n + 0 = n.",
    "Lemma t (n : nat) : n = n.",
    "Example t: 1 + 1 = 2.",
    "Theorem t {A : Type} (l : list A) : l = l.",
    "Theorem t : forall A : Set, A -> A.",
    "Theorem t :\n  forall n : nat,\n  n = n.",
    "Theorem t : forall n, match n with 0 => True | S m => match m with 0 => True | _ => m = m end end.",
])
def test_accepted_statements(statement: str) -> None:
    assert check_coq_statement("t", statement) is None


@pytest.mark.parametrize(("statement", "reason"), [
    ("Theorem t : True. Proof. exact I. Qed.", "exactly one sentence"),
    ("Theorem t : True", "unfinished"),
    ("Theorem u : True.", "declares 'u'"),
    ("Definition t : nat := 1.", "must start with"),
    ("Axiom t : False.", "must start with"),
    ("Theorem t : True. Admitted.", "exactly one sentence"),
    ("Theorem t : (* . *) True.", "comments"),
    ("Theorem t : admit = admit.", "'admit'"),
    ("Set Printing All. Theorem t : True.", "exactly one sentence"),
    ("Theorem t : Require.", "'Require'"),
    # a mutual theorem: its proof sees both as recursive hypotheses, reaching the guard checker's bugs
    ("Theorem t : forall n : nat, match n with 0 => False | S _ => True end -> False with u : True.",
     "'with' outside a match"),
    ("Theorem t : forall n : nat, n = n with u : forall m : nat, m = m.", "'with' outside a match"),
    # an identifier that contains the word match (one name to Coq) takes no with
    ("Theorem t : forall n : nat, (fun matchα : nat => n = n) n with u : True.", "'with' outside a match"),
    ("Theorem t : forall n : nat, (fun match_1 : nat => n = n) n with u : True.", "'with' outside a match"),
    ("Theorem t : 1 = 1 <: True.", "'<:'"),
])
def test_refused_statements(statement: str, reason: str) -> None:
    got = check_coq_statement("t", statement)
    assert got is not None and reason in got


@pytest.mark.parametrize("header", [
    "",
    "Require Import Arith Lia.",
    "Require Import List.\nImport ListNotations.",
    "From Coq Require Import Lia.",
    "Require Export Coq.Lists.List.",
    "Require Import Classical.",
    "Local Open Scope nat_scope.",
    "Fixpoint double (n : nat) : nat :=\n  match n with\n  | 0 => 0\n  | S m => S (S (double m))\n  end.",
    "Inductive color : Type := red | green.",
    "Definition two : nat := 2.",
])
def test_accepted_headers(header: str) -> None:
    assert check_coq_header(header) is None


@pytest.mark.parametrize(("header", "reason"), [
    ("Axiom cheat : False.", "not allowed"),
    ("Parameter x : nat.", "not allowed"),
    ("Hypothesis H : False.", "not allowed"),
    ("Set Nested Proofs Allowed.", "not allowed"),
    ("Unset Guard Checking.", "not allowed"),
    ("Load foo.", "not allowed"),
    ("Declare ML Module foo.", "not allowed"),
    ("Definition x : False.", "not allowed"),  # no body: would open a proof
    ("Definition x : nat := ltac:(admit).", "not allowed"),
    ("Lemma cheat : False. Admitted.", "not allowed"),
    ("#[bypass_check(guard)] Fixpoint f (n : nat) : nat := f n.", "not allowed"),
    ("Require Import Arith", "unfinished"),
    ("Redirect foo Print nat.", "not allowed"),
    ("Extraction Language OCaml.", "not allowed"),
    ("Cd foo.", "not allowed"),
    ("Ltac t := admit.", "not allowed"),
    ("From Ltac2 Require Import Ltac2.", "'Ltac2' is not allowed"),
    ("Definition x : nat := Eval vm_compute in 2 + 2.", "'vm_compute' is not allowed"),
    ("Definition e : 2 + 2 = 4 := (eq_refl 4 <: 2 + 2 = 4).", "'<:' (a vm_compute cast)"),
])
def test_refused_headers(header: str, reason: str) -> None:
    got = check_coq_header(header)
    assert got is not None and reason in got


def test_theorem_check_needs_a_plain_identifier() -> None:
    assert check_coq_theorem("t", "", "Theorem t : True.") is None
    assert "identifier" in (check_coq_theorem("t.u", "", "Theorem t : True.") or "")
    assert "not allowed" in (check_coq_theorem("t", "Axiom a : False.", "Theorem t : True.") or "")


def test_statement_name() -> None:
    assert statement_name("  Lemma foo_bar' (n : nat) : n = n.") == "foo_bar'"
    assert statement_name("Theorem t: True.") == "t"
    assert statement_name("forall n, n = n.") is None
