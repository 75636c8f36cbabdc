"""Coq headers: the comment/string-aware lexer, the header rules, the names a header declares (no Coq)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.backends.coq.header_names import Declared, HeaderNamesError, declared, identifiers
from search.backends.coq.header_safety import check_header
from search.backends.coq.header_text import (
    HeaderTextError,
    canonical_header,
    header_sentences,
    strip_comments,
    without_comments,
)
from search.backends.coq.safety import check_coq_theorem

SHARED = Path(__file__).resolve().parents[4] / "shared" / "benchmarks"
ROCQ_VALID = SHARED / "minif2f_rocq_valid.jsonl"
# Declares an axiom (Parameter Rfloor, Axiom Rfloor_spec): refused by design, the one row that is.
ROCQ_HEADER_REFUSED = {"amc12a_2016_p3"}


def test_comments_nest_and_strings_hide_comment_marks() -> None:
    text = ('Definition a := 1. (* c (* nested *) " *) " still comment *)Definition b := 2.\n'
            'Notation "x (* y" := (x + 1) (at level 50).\n(*) Definition d := 4. *)\nDefinition e := 5.')
    assert header_sentences(text) == ["Definition a := 1.", "Definition b := 2.",
                                      'Notation "x (* y" := (x + 1) (at level 50).', "Definition e := 5."]
    assert strip_comments('"a "" (* b" (* x *)') == '"a "" (* b"  '


def test_without_comments_keeps_strings_and_token_boundaries() -> None:
    assert without_comments("a(*x*)b") == "a b" and without_comments("a (*x*) b") == "a b"
    assert without_comments("h -> (* no draws *)\n  k") == "h ->\n  k"  # no trailing blank left
    assert without_comments("n : (* (* nested *) still *) nat") == "n : nat"
    assert without_comments('x = "(* kept *)" (* gone " *) " *)') == 'x = "(* kept *)"'
    assert without_comments("(*) opens a comment *)z") == "z"
    for unterminated in ("a (* (* b *)", 'a (* " *)', 'a "(* b'):
        with pytest.raises(HeaderTextError):
            without_comments(unterminated)


def test_canonical_header_is_one_sentence_a_line_without_comments() -> None:
    header = ("(* Step 1 *)\nRequire Import\n  Arith.\n\n(* Step 2. Not. A. Sentence. *)\n"
              "Open Scope nat_scope.")
    assert canonical_header(header) == "Require Import Arith.\nOpen Scope nat_scope."
    assert canonical_header("") == ""


@pytest.mark.parametrize("text", ["(* open", "(* (* *)", 'Notation "x', '(* " *)', "Require Import Arith",
                                  "Definition x := 1.."])
def test_unlexable_headers(text: str) -> None:
    with pytest.raises(HeaderTextError):
        header_sentences(text)


@pytest.mark.parametrize("header", [
    "(* Step 1: imports *)\nRequire Import List.\nImport ListNotations.",
    "Require Import FSets.FSetWeakList FSets.FSetInterface Arith.\n"
    "Module NS := FSetWeakList.Make(Nat_as_OT).",
    "Require Import Reals.\nLocal Open Scope R_scope.\nOpen Scope nat_scope.\nClose Scope nat_scope.",
    "From mathcomp Require Import all_ssreflect.\nSet Implicit Arguments.\nUnset Strict Implicit.\n"
    "Unset Printing Implicit Defensive.",
    'Notation "x +++ y" := (x + y) (at level 50).',
    "Notation double n := (n + n).",
    "#[local] Notation twice := 2.",
    'Infix "+++" := Nat.add (at level 50).',
    "Inductive color : Type := | red | green : color.",
    "Record point := mk { px : nat ; py : nat }.",
    "Variant sign := Pos | Neg.",
    "Declare Scope my_scope.",
    'Set Warnings "-notation-overridden,-parsing".\nSet Bullet Behavior "Strict Subproofs".',
])
def test_accepted_headers(header: str) -> None:
    assert check_header(header) is None


@pytest.mark.parametrize(("header", "reason"), [
    ("Axiom cheat : False.", "not allowed"),
    ("(* *) Axiom cheat : False.", "not allowed"),
    ("(* comment (* nested *) *) Parameter x : nat.", "not allowed"),
    ('(* " *) " *) Axiom cheat : False.', "not allowed"),  # the string inside the comment hides no '*)'
    ("Conjecture c : False.", "not allowed"),
    ("Unset Guard Checking.", "not allowed"),
    ("Unset Universe Checking.", "not allowed"),
    ("Unset Positivity Checking.", "not allowed"),
    ("Local Unset Guard Checking.", "not allowed"),
    ("Set Nested Proofs Allowed.", "not allowed"),
    ('Set Warnings "-x". Unset Guard Checking.', "not allowed"),
    ('Set Printing Depth "3".', "not allowed"),
    ("#[bypass_check(guard)] Fixpoint f (n : nat) : nat := f n.", "not allowed"),
    ("CoFixpoint ones : Stream nat := Cons 1 ones.", "CoFixpoint"),
    ("Declare ML Module \"evil_plugin\".", "not allowed"),
    ("Load \"/tmp/evil.v\".", "not allowed"),
    ("Add LoadPath \"/tmp\" as Evil.", "not allowed"),
    ("From \"/tmp\" Require Import Evil.", "not allowed"),
    ("Lemma cheat : False. Admitted.", "not allowed"),
    ("Definition x : False. Admitted.", "not allowed"),
    ("Program Definition x : nat := _.", "not allowed"),
    ("Definition x : nat := ltac:(exact 1).", "not allowed"),
    ("Ltac t := idtac.", "not allowed"),
    ("Section S. Variable x : False.", "not allowed"),
    ("Module M. Definition x := 1.", "not allowed"),
    ("Module Import M := Nat.", "not allowed"),
    ("Module M := Nat.\nImport M.", "module the header defines"),
    ("Inductive t := c where \"x ** y\" := (c) : type_scope.", "where"),
    ('Notation "x\n+ y" := (x + y).', "line breaks"),
    ("Check 1.", "not allowed"),
    ("Delimit Scope nat_scope with R.", "not allowed"),  # would make `(1/2)%R` a nat
    ("Bind Scope nat_scope with R.", "not allowed"),
    ("Arguments Nat.add : simpl never.", "not allowed"),
    ("Coercion Z.of_nat : nat >-> Z.", "not allowed"),
    ("Existing Instance foo.", "not allowed"),
    ("Print Assumptions foo.", "not allowed"),
    ("Require Import Arith. <prompt>", "prompt"),
    ("Require Import Arith.\u00a0", "character"),
])
def test_refused_headers(header: str, reason: str) -> None:
    got = check_header(header)
    assert got is not None and reason in got, got


@pytest.mark.parametrize(("sentence", "names"), [
    ("Definition two : nat := 2.", Declared(terms=("two",))),
    ("Local Definition two := 2.", Declared(terms=("two",))),
    ("Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => g m end with g (n : nat) : nat := 0.",
     Declared(terms=("f", "g"))),
    ("Inductive T : Type := C1 : T | C2 (n : nat) : T with U : Type := D1.",
     Declared(terms=("T", "T_ind", "T_rect", "T_rec", "T_sind", "C1", "C2",
                     "U", "U_ind", "U_rect", "U_rec", "U_sind", "D1"))),
    ("Inductive w := W : (match 0 with 0 => nat | _ => bool end) -> w.",
     Declared(terms=("w", "w_ind", "w_rect", "w_rec", "w_sind", "W"))),
    ("Record Rc := mk { fld1 : nat ; fld2 :> bool }.",
     Declared(terms=("Rc", "mk", "fld1", "fld2", "Rc_ind", "Rc_rect", "Rc_rec", "Rc_sind"))),
    ("Record Rd := { fd : nat }.", Declared(terms=("Rd", "Build_Rd", "fd", "Rd_ind", "Rd_rect", "Rd_rec",
                                                   "Rd_sind"))),
    ('Notation "x +++ y" := (x + y) (at level 50).', Declared(terminals=("+++",))),
    ("Notation \"'False'\" := True.", Declared(terminals=("False",))),
    ("Notation abbr := (1 + 1).", Declared(terms=("abbr",))),
    ("Module NS := FSetWeakList.Make(Nat_as_OT).", Declared(modules=("NS",))),
    ("Require Import Arith.", Declared()),
])
def test_declared_names(sentence: str, names: Declared) -> None:
    assert declared(sentence) == names


def test_unreadable_declarations_are_errors() -> None:
    with pytest.raises(HeaderNamesError):
        declared("Inductive t := 1 + 1.")
    with pytest.raises(HeaderNamesError):
        declared("Record r := { #[canonical=no] f : nat }.")


def test_statement_identifiers_are_unqualified_names() -> None:
    assert identifiers("Theorem s : forall n, n = S n /\\ Datatypes.S n = n.") >= {"S", "n", "forall"}
    assert "Datatypes.S" not in identifiers("Datatypes.S n")


def test_every_minif2f_rocq_header_passes_the_textual_check() -> None:
    """Rows with ``coq_8_16`` do not elaborate in Coq 8.16 but their headers still pass the text check."""
    rows = [json.loads(line) for line in ROCQ_VALID.read_text().splitlines()]
    assert len(rows) == 244
    refused = {row["name"]: check_header(row["header"]) for row in rows if check_header(row["header"])}
    assert set(refused) == ROCQ_HEADER_REFUSED, refused
    assert refused["amc12a_2016_p3"].startswith(
        "header: 'Parameter' is not allowed: it declares an assumption, which a proof could use")


def test_coq_theorem_check_uses_the_header_rules() -> None:
    assert check_coq_theorem("t", "(* a comment *)\nRequire Import Arith.", "Theorem t : 1 = 1.") is None
    assert "comments" in (check_coq_theorem("t", "", "Theorem t : (* no *) 1 = 1.") or "")
