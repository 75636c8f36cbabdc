"""Every proof's axioms reach the user: ``prove --json``, sweep records and the sweep report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.sweep import Task, make_record, summarise, write_report
from prover.sweep.benchmark import BenchmarkItem
from search import Theorem
from search.result import Proof, SearchResult, SearchStats, StopReason
from search.types import Verdict

REALS = ("Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
         "Coq.Reals.ClassicalDedekindReals.sig_forall_dec")


def test_prove_json_names_the_axioms_of_a_real_arithmetic_proof(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "intros x,lra", "--json",
                 "--header", "Require Import Reals Lra.\nOpen Scope R_scope.",
                 "Theorem r_lt : forall x : R, x < x + 1."])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"], result
    assert tuple(result["proof"]["axioms"]) == REALS


def test_a_proof_rejected_for_its_axioms_is_named_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "intros x,lra",
            "--coq-allowed-axioms", "", "--max-expansions", "3", "--header",
            "Require Import Reals Lra.\nOpen Scope R_scope.", "Theorem r_lt : forall x : R, x < x + 1."]
    assert main([*argv, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert not result["proved"] and result["stats"]["proofs_rejected"] == 1
    assert result["rejected"].startswith("1 proof found but rejected by verification: ")
    assert "axioms that are not allowed" in result["rejected"] and REALS[1] in result["rejected"]
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "note: 1 proof found but rejected by verification: the proof depends on axioms" in err


def test_prove_prints_the_axioms(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "intros x,lra",
                 "--header", "Require Import Reals Lra.\nOpen Scope R_scope.",
                 "Theorem r_lt : forall x : R, x < x + 1."])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0 and f"axioms: {REALS[0]}, {REALS[1]}" in err


def test_prove_json_with_no_allowed_axioms_rejects_the_same_proof(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "intros x,lra", "--json",
                 "--coq-allowed-axioms", "", "--header", "Require Import Reals Lra.\nOpen Scope R_scope.",
                 "Theorem r_lt : forall x : R, x < x + 1."])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and not result["proved"] and result["stats"]["proofs_rejected"] >= 1


def test_records_and_report_carry_the_axioms(tmp_path: Path) -> None:
    theorem = Theorem("r_lt", "Theorem r_lt : forall x : R, x < x + 1.")
    verdict = Verdict(True, (), REALS, "text")
    proof = Proof(("intros x", "lra"), "text", verdict)
    proved = SearchResult("r_lt", StopReason.PROVED, proof, SearchStats())
    record = make_record(Task(theorem, "valid", 1), "proved", result=proved)
    assert record["axioms"] == list(REALS)
    unproved = make_record(Task(Theorem("u", "Theorem u : False."), "valid", 1), "unproved")
    assert unproved["axioms"] is None
    items = [BenchmarkItem(theorem, "valid", 1),
             BenchmarkItem(Theorem("u", "Theorem u : False."), "valid", 2)]
    summary = summarise(items, [json.loads(json.dumps(r)) for r in (record, unproved)], attempts=1)
    outcome = next(t for t in summary.theorems if t.name == "r_lt")
    assert outcome.axioms == list(REALS)
    paths = write_report(summary, tmp_path, "axioms")
    assert json.loads(paths["json"].read_text())["theorems"][0]["axioms"] == list(REALS)
    report = paths["markdown"].read_text()
    assert "## Axioms of the proofs" in report and f"`{REALS[1]}`" in report
