"""Headers cannot change what a statement means: sessions and verification against real Coq."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig
from search.backends.coq.coqtop import CoqTop
from search.backends.coq.header_freshness import audit_prepare, check_statement, load_header
from search.backends.coq.header_text import canonical_header
from search.backends.coq.verify import compile_and_check
from search.errors import InvalidTheoremError
from search.types import Theorem

ROCQ_VALID = Path(__file__).resolve().parents[4] / "shared" / "benchmarks" / "minif2f_rocq_valid.jsonl"

SHADOWING = [
    (Theorem("f", "Theorem f : False.", "Definition False := True."), ["exact I"], "'False'"),
    (Theorem("s", "Theorem s : forall n, n = S n.", "Definition S (n : nat) : nat := n."),
     ["intros n", "reflexivity"], "'S'"),
    (Theorem("i", "Theorem i : bool_ind = bool_ind.", "Inductive bool := O."), ["reflexivity"], "'bool_ind'"),
    (Theorem("r", "Theorem r : forall x : R, Rplus x x = x.",
             "Require Import Reals.\nDefinition Rplus (x y : R) := x."),
     ["intros x", "reflexivity"], "'Rplus'"),
    (Theorem("t", "Theorem t : le 2 1.", "(* a comment *)\nNotation le x y := (y <= x)."),
     ["auto"], "'le'"),
    # the shadow reached through another header name (issue 11's attack, moved one step away)
    (Theorem("f", "Theorem f : myF.", "Definition False := True.\nDefinition myF := False."), ["exact I"],
     "'myF'"),
    (Theorem("s", "Theorem s : forall n, n = succ n.",
             "Definition S (n : nat) : nat := n.\nNotation succ := S."),
     ["intros n", "reflexivity"], "'succ'"),
    (Theorem("q", "Theorem q : myF.", "Definition False := True.\nDefinition myF := Top.False."), ["exact I"],
     "'myF'"),
    (Theorem("b", "Theorem b : forall x : mynat, x = true \\/ x = false.",
             "Definition unit := bool.\nDefinition mynat := unit."),
     ["intros x", "destruct x; auto"], "'mynat'"),
    # a qualified name reaches the shadow as well, whatever the top module is called
    (Theorem("t", "Theorem t : Top.False.", "Definition False := True."), ["exact I"], "'False'"),
]
REFUSED_HEADERS = [
    (Theorem("m", "Theorem m : Nat.add 1 1 = 1.", "Module Nat := Coq.Init.Nat."), "module 'Nat'"),
    (Theorem("n", "Theorem n : False.", "Notation \"'False'\" := True."), "'False'"),
    (Theorem("p", "Theorem p : 1 + 1 = 1.", "Notation \"x + y\" := (Nat.sub x y)."), "'+'"),
    (Theorem("q", "Theorem q : True.", "Notation \"x -> y\" := (x /\\ y)."), "'->'"),
    # a notation's symbol or keyword for a shadow: the statement reaches it through no name
    (Theorem("k", "Theorem k : ff.", "Definition False := True.\nNotation \"'ff'\" := False."), "'False'"),
    (Theorem("b", "Theorem b : !!.", "Definition False := True.\nDefinition myF := False.\n"
                                     "Notation \"!!\" := myF."), "'myF'"),
    # numbers and qualified names made tokens (issue 11's audit: 1 = 2 was reported proved)
    (Theorem("g", "Theorem g : 1 = 2.", "Notation \"'2'\" := 1."), "number '2'"),
    (Theorem("g", "Theorem g : 1 = 2.", "Notation \"2\" := 1."), "number '2'"),
    (Theorem("h", "Theorem h : 1 = 0x2.", "Notation \"'0x2'\" := 1."), "number '0x2'"),
    (Theorem("a", "Theorem a : Nat.add 2 3 = 6.", "Notation \"'Nat.add'\" := Nat.mul."), "'Nat.add'"),
    (Theorem("l", "Theorem l : Coq.Init.Logic.False.", "Notation \"'Coq.Init.Logic.False'\" := True."),
     "'Coq.Init.Logic.False'"),
]


@pytest.fixture(scope="module")
def backend() -> CoqBackend:
    with CoqBackend() as coq:
        yield coq


@pytest.mark.parametrize(("theorem", "tactics", "name"), SHADOWING)
def test_a_statement_using_a_shadowed_name_is_refused(backend: CoqBackend, theorem: Theorem,
                                                      tactics: list[str], name: str) -> None:
    with pytest.raises(InvalidTheoremError, match=name) as caught:
        backend.open(theorem)
    assert "would not mean what it says" in caught.value.reason
    verdict = backend.verify(theorem, tactics)
    assert not verdict.ok and name in verdict.messages[0], verdict.messages


@pytest.mark.parametrize(("theorem", "name"), REFUSED_HEADERS)
def test_modules_and_notations_that_hide_something_are_refused(backend: CoqBackend, theorem: Theorem,
                                                               name: str) -> None:
    with pytest.raises(InvalidTheoremError, match=re.escape(name)):
        backend.open(theorem)
    assert not backend.verify(theorem, ["exact I"]).ok


def test_verification_checks_the_header_even_in_a_fresh_process() -> None:
    """The verifier's own audit coqtop loads the header when this process never did."""
    theorem = Theorem("f2", "Theorem f2 : False.", "Definition False := True.\nDefinition unused := 0.")
    text = "Definition False := True.\nDefinition unused := 0.\nTheorem f2 : False.\nProof. exact I. Qed.\n"
    config = CoqBackendConfig()
    verdict = compile_and_check(text, "f2", config, prepare=audit_prepare(theorem, config))
    assert not verdict.ok and "'False'" in verdict.messages[0]


def test_a_helper_that_means_what_the_library_s_name_means_is_fine(backend: CoqBackend) -> None:
    """A benchmark header's own ``fact``, written as the library writes it, is convertible with the name it
    hides: statements may use it, directly or through the header's other definitions."""
    header = ("Require Import Arith.\n(* the benchmark's own factorial *)\n"
              "Fixpoint fact (n : nat) : nat := match n with 0 => 1 | S m => S m * fact m end.\n"
              "Definition fact3 := fact 3.")
    fine = Theorem("fine", "Theorem fine : fact3 = 6.", header)
    backend.open(fine).close()
    verdict = backend.verify(fine, ["reflexivity"])
    assert verdict.ok, verdict.messages
    assert "(*" not in verdict.proof_text and "Fixpoint fact" in verdict.proof_text
    backend.open(Theorem("uses", "Theorem uses : fact 3 = 6.", header)).close()


def test_a_shadow_reached_through_another_header_name_is_refused(backend: CoqBackend) -> None:
    """A different ``fact`` hides the library's: a statement may not reach it directly, nor through a
    definition or an abbreviation that mentions it; a helper that no statement reaches stays fine."""
    header = ("Require Import Arith.\n"
              "Fixpoint fact (n : nat) : nat := match n with 0 => 0 | S m => S m + fact m end.\n"
              "Definition fact3 := fact 3.\nNotation f3 := fact3.\nDefinition unrelated := 3.")
    for statement, name in (("fact 3 = 6", "'fact'"), ("fact3 = 6", "'fact3'"), ("f3 = 6", "'f3'")):
        theorem = Theorem("t", f"Theorem t : {statement}.", header)
        with pytest.raises(InvalidTheoremError, match=name) as caught:
            backend.open(theorem)
        assert "would not mean what it says" in caught.value.reason and "'fact'" in caught.value.reason
        assert not backend.verify(theorem, ["reflexivity"]).ok
    backend.open(Theorem("u", "Theorem u : unrelated = 3.", header)).close()


def test_fresh_definitions_notations_and_module_instances_work(backend: CoqBackend) -> None:
    header = ("Require Import FSets.FSetWeakList FSets.FSetInterface Arith OrderedTypeEx.\n"
              "Module NS := FSetWeakList.Make(Nat_as_OT).\n"
              "Notation \"x ## y\" := (x + y) (at level 50).\n"  # a symbol made of no token
              "Inductive color : Type := red | green.\n"
              "Record point := mk { px : nat ; py : nat }.")
    theorem = Theorem("ok", "Theorem ok : 1 ## px (mk 1 2) = 2 /\\ NS.is_empty NS.empty = true.", header)
    backend.open(theorem).close()
    verdict = backend.verify(theorem, ["split", "reflexivity", "reflexivity"])
    assert verdict.ok, verdict.messages


@pytest.mark.slow
def test_every_valid_minif2f_rocq_row_passes_the_freshness_check() -> None:
    """Every row that elaborates in Coq 8.16 (no ``coq_8_16`` field): its header loads through the
    freshness check in real coqtop (one per distinct header) and its statement uses no shadowed name.
    The one row refused by the header rules declares an axiom (``test_coq_header``)."""
    rows = [json.loads(line) for line in ROCQ_VALID.read_text().splitlines()]
    rows = [r for r in rows if not r.get("coq_8_16") and r["name"] != "amc12a_2016_p3"]
    by_header: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_header.setdefault(canonical_header(row["header"]), []).append(row)
    config = CoqBackendConfig()

    def check(group: list[dict[str, str]]) -> dict[str, str]:
        first = group[0]
        top = CoqTop(config, name="coqtop[freshness]")
        try:
            top.start(config.start_timeout)
            shadows = load_header(top, Theorem(first["name"], first["statement"], first["header"]), config)
        finally:
            top.close()
        refused = {}
        for row in group:
            try:
                check_statement(Theorem(row["name"], row["statement"], row["header"]), shadows)
            except InvalidTheoremError as exc:
                refused[row["name"]] = exc.reason
        return refused

    with ThreadPoolExecutor(max_workers=2) as pool:
        refused = {name: why for found in pool.map(check, by_header.values()) for name, why in found.items()}
    assert len(rows) == 235 and refused == {}, refused
