"""Parsing coqtop's ``Print Assumptions`` and ``About`` answers (texts as Coq 8.16.1 prints them)."""

from __future__ import annotations

import pytest

from search.backends.coq.assumptions import (
    Assumptions,
    AssumptionsError,
    parse_about_constant,
    parse_assumptions,
)

LRA = """<infomsg>Fetching opaque proofs from disk for Coq.Reals.Raxioms</infomsg>
Axioms:
ClassicalDedekindReals.sig_forall_dec
  : forall P : nat -> Prop,
    (forall n : nat, {P n} + {~ P n}) ->
    {n : nat | ~ P n} + {forall n : nat, P n}
FunctionalExtensionality.functional_extensionality_dep
  : forall (A : Type) (B : A -> Type) (f g : forall x : A, B x),
    (forall x : A, f x = g x) -> f = g

"""


def test_closed_and_listed_axioms() -> None:
    closed = "<infomsg>Fetching</infomsg>\nClosed under the global context\n"
    assert parse_assumptions(closed) == Assumptions()
    assert parse_assumptions(LRA).axioms == ("ClassicalDedekindReals.sig_forall_dec",
                                             "FunctionalExtensionality.functional_extensionality_dep")
    one_line = parse_assumptions("Axioms:\nClassical_Prop.classic : forall P : Prop, P \\/ ~ P\n")
    assert one_line.axioms == ("Classical_Prop.classic",) and not one_line.unsafe


def test_unsafe_definitions_are_reported_not_resolved() -> None:
    found = parse_assumptions("Axioms:\nG.loop is assumed to be guarded.\n"
                              "G.h relies on an unsafe hierarchy.\nx : False\n")
    assert found.unsafe == ("G.loop is assumed to be guarded.", "G.h relies on an unsafe hierarchy.")
    assert found.axioms == ("x",)


@pytest.mark.parametrize("text", [
    "", "Closed under the global context twice", "Opaque constants:\nfoo : nat\n",
    "Axioms:\nthis line is not an entry\n", "Error: The reference x was not found.",
    "Closed under the global context\nAxioms:\nx : False\n",
])
def test_anything_else_is_an_error(text: str) -> None:
    with pytest.raises(AssumptionsError):
        parse_assumptions(text)


def test_about_gives_the_kernel_name() -> None:
    about = ("Classical_Prop.classic : forall P : Prop, P \\/ ~ P\n\nClassical_Prop.classic is not universe "
             "polymorphic\nArguments Classical_Prop.classic P%type_scope\n"
             "Expands to: Constant Coq.Logic.Classical_Prop.classic\n")
    assert parse_about_constant(about) == "Coq.Logic.Classical_Prop.classic"
    with pytest.raises(AssumptionsError):
        parse_about_constant("bad : Set\nExpands to: Inductive V.G.bad\n")
