"""Reading theorems from text, source files and benchmark rows, with errors that say where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.theorem_input import (
    InputError,
    coq_theorem_from_text,
    lean_theorem_from_text,
    theorem_from_file,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def test_lean_text_gets_its_name_and_a_trailing_assign() -> None:
    thm = lean_theorem_from_text("theorem foo (n : ℕ) : n + 0 = n", header="import Mathlib")
    assert thm.name == "foo" and thm.statement == "theorem foo (n : ℕ) : n + 0 = n :="
    assert thm.header == "import Mathlib"
    assert lean_theorem_from_text("theorem foo : True := by sorry").statement == "theorem foo : True :="
    for proved in ("theorem t : 2 + 2 = 4 := by norm_num", "theorem t : 2 + 2 = 4 := rfl",
                   "theorem t : 2 + 2 = 4 := by"):
        with pytest.raises(InputError, match="comes with a proof after `:=`"):
            lean_theorem_from_text(proved)
    assert lean_theorem_from_text("example : 1 = 1 :=").name == "example"


def test_text_that_is_not_a_declaration_is_refused() -> None:
    with pytest.raises(InputError, match="must start with"):
        lean_theorem_from_text("1 + 1 = 2")
    with pytest.raises(InputError, match="Coq statement"):
        coq_theorem_from_text("forall n, n = n")


def test_coq_text() -> None:
    thm = coq_theorem_from_text("Theorem plus_0 : forall n : nat, n + 0 = n", "Require Import Arith.")
    assert thm.name == "plus_0" and thm.statement.endswith("n + 0 = n.")


def test_lean_file_by_name(tmp_path: Path) -> None:
    src = tmp_path / "T.lean"
    src.write_text("import Mathlib\n\ndef f : ℕ := 2\n\ntheorem a (x : ℕ) (h : (x, 1) = (2, 1)) :\n"
                   "  x = 2 := by\n  simp_all\n\ntheorem b : f = 2 := rfl\n")
    thm = theorem_from_file(src, "a")
    assert thm.statement == "theorem a (x : ℕ) (h : (x, 1) = (2, 1)) :\n  x = 2 :="
    assert thm.header == "import Mathlib\n\ndef f : ℕ := 2\n"
    assert theorem_from_file(src, "b").header.endswith("simp_all\n")
    with pytest.raises(InputError, match=r"T\.lean: no theorem named 'c'"):
        theorem_from_file(src, "c")


def test_coq_file_by_name(tmp_path: Path) -> None:
    src = tmp_path / "t.v"
    src.write_text("Require Import Lia.\n\nLemma l1 : forall n : nat, n + 0 = n.\nProof. lia. Qed.\n")
    thm = theorem_from_file(src, "l1")
    assert thm.statement == "Lemma l1 : forall n : nat, n + 0 = n."
    assert thm.header == "Require Import Lia.\n"


def test_jsonl_rows_and_their_errors(tmp_path: Path) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"name": "t1", "statement": "theorem t1 : True :=", "header": "h"}) + "\n"
                     + "{not json\n")
    # a broken line anywhere is an error naming it, even after the row asked for (as in a sweep)
    for name in ("t1", "t2"):
        with pytest.raises(InputError, match=r"b\.jsonl:2: not valid JSON"):
            theorem_from_file(bench, name)
    bench.write_text(json.dumps({"name": "t1", "statement": "theorem t1 : True :=", "header": "h"}) + "\n")
    assert theorem_from_file(bench, "t1").header == "h"
    with pytest.raises(InputError, match="no such file"):
        theorem_from_file(tmp_path / "missing.jsonl", "t1")
    with pytest.raises(InputError, match="unknown file type"):
        theorem_from_file(bench.rename(tmp_path / "b.txt"), "t1")


def test_shared_minif2f_rows_carry_a_leandojo_locator() -> None:
    thm = theorem_from_file(SHARED / "minif2f.jsonl", "mathd_algebra_10")
    assert thm.statement.startswith("theorem mathd_algebra_10") and thm.statement.endswith(":=")
    assert thm.locator is not None and thm.locator.full_name == "mathd_algebra_10"
    assert thm.header.startswith("import Mathlib")
