"""Splitting real .v text into sentences: comments, strings, dots, bullets and braces."""

from __future__ import annotations

import pytest

from prover.tracing.coq_source import SourceError, split_source


def texts(source: str) -> list[str]:
    return [s.text for s in split_source(source)]


def test_nested_comments_and_strings_inside_comments_hide_terminators() -> None:
    source = '(* a. (* nested. *) "*)" still comment. *)\nLemma x : True.\nProof. exact I. Qed.\n'
    assert texts(source) == ["Lemma x : True.", "Proof.", "exact I.", "Qed."]


def test_strings_keep_dots_comment_openers_and_doubled_quotes() -> None:
    source = 'Notation "x .+1 (* y" := (S x) (at level 2).\nLemma l : True. idtac "a "". b". exact I. Qed.'
    assert texts(source) == ['Notation "x .+1 (* y" := (S x) (at level 2).', "Lemma l : True.",
                             'idtac "a "". b".', "exact I.", "Qed."]


def test_qualified_names_numerals_projections_and_double_dots_are_not_ends() -> None:
    source = ("Check Nat.add_comm.\nDefinition r := 1.5.\n"
              "Notation \"[ x ; .. ; y ]\" := (cons x .. (cons y nil) ..).\n"
              "Lemma l : True.\nProof with auto. constructor... Qed.")
    assert texts(source) == ["Check Nat.add_comm.", "Definition r := 1.5.",
                             'Notation "[ x ; .. ; y ]" := (cons x .. (cons y nil) ..).',
                             "Lemma l : True.", "Proof with auto.", "constructor...", "Qed."]


def test_the_file_s_own_notation_symbols_ending_in_a_dot_are_not_ends() -> None:
    """Coq's lexer reads a declared symbol ``.+.`` whole; its dot before a space ends nothing."""
    source = ('Infix ".*." := Nat.mul (at level 40).\nNotation "x .+. y" := (x + y) (at level 50).\n'
              "Lemma a : forall n m : nat, n .+. m = m .+. n.\n"
              "Proof. intros. exact (Nat.add_comm n m). Qed.\n"
              "Lemma b : 2 .*. 3 = 6.\nProof. reflexivity. Qed.")
    assert texts(source) == ['Infix ".*." := Nat.mul (at level 40).',
                             'Notation "x .+. y" := (x + y) (at level 50).',
                             "Lemma a : forall n m : nat, n .+. m = m .+. n.", "Proof.", "intros.",
                             "exact (Nat.add_comm n m).", "Qed.", "Lemma b : 2 .*. 3 = 6.", "Proof.",
                             "reflexivity.", "Qed."]


def test_bullets_and_braces_are_sentences_with_positions() -> None:
    source = "Proof.\n  split.\n  - reflexivity.\n  -- { exact I. }\n  2: { auto. }\n  + * idtac.\nQed."
    sentences = split_source(source)
    assert [(s.text, s.kind) for s in sentences] == [
        ("Proof.", "sentence"), ("split.", "sentence"), ("-", "bullet"), ("reflexivity.", "sentence"),
        ("--", "bullet"), ("{", "brace"), ("exact I.", "sentence"), ("}", "brace"), ("2: {", "brace"),
        ("auto.", "sentence"), ("}", "brace"), ("+", "bullet"), ("*", "bullet"), ("idtac.", "sentence"),
        ("Qed.", "sentence")]
    assert (sentences[3].line, sentences[3].column) == (3, 5)
    assert (sentences[6].line, sentences[6].column) == (4, 8)


def test_multi_line_sentences_become_one_line_without_comments() -> None:
    source = "Lemma l :\n  forall n : nat, (* why *)\n    n = n.\n"
    assert texts(source) == ["Lemma l : forall n : nat, n = n."]


@pytest.mark.parametrize(("source", "problem"), [
    ("Lemma l : True. (* open", "unterminated comment"),
    ('Lemma l : True. idtac "open.', "unterminated string"),
    ("Lemma l : True.\nexact I", "unfinished sentence"),
])
def test_broken_files_name_the_line_and_problem(source: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem) as info:
        split_source(source, "bad.v")
    assert info.value.file == "bad.v"
    assert info.value.line in (1, 2)
