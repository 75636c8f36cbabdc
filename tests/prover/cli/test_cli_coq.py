"""The quickest real demonstration of the product, as a test: ``prover prove`` and ``prover sweep`` with the
Coq backend and the tactic-list policy, against real Coq (``.ci/run`` installs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main


def test_prove_a_coq_theorem_needing_induction(capsys: pytest.CaptureFixture[str]) -> None:
    header = ("Fixpoint double (n : nat) : nat := match n with 0 => 0 | S p => S (S (double p)) end.")
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--header", header, "--json",
                 "Theorem double_plus : forall n : nat, double n = n + n."])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"]
    tactics = result["proof"]["tactics"]
    assert any(t.startswith("induction") for t in tactics) and len(tactics) >= 3
    assert "Qed." in result["proof"]["text"]


def test_an_admitted_proof_cannot_be_smuggled_in(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "admit,idtac",
                 "--max-expansions", "3", "Theorem false_thing : 1 = 2."])
    err = capsys.readouterr().err
    assert code == 1 and "not proved" in err and "filtered" in err


def test_a_statement_coq_rejects_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics",
                 "Theorem bad : forall n, n = undefined_name."])
    err = capsys.readouterr().err
    assert code == 2 and "bad" in err and "Traceback" not in err


@pytest.mark.slow
def test_sweep_the_coq_benchmark(ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
                 "--limit", "6", "--workers", "2", "--max-expansions", "16", "--tactic-timeout", "2",
                 "--out", str(out)])
    assert code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 6
    proved = [r for r in records if r["status"] == "proved"]
    assert len(proved) >= 4
    assert all("\nQed.\n" in r["proof_text"] for r in proved)
    # with the policy's imports the file ends by checking the statement kept its meaning (imports.py)
    assert all(r["proof_text"].rstrip().endswith(("Qed.", "End ProverStatementCheck.")) for r in proved)
    assert "coq_basic" in (out / "report.md").read_text()
