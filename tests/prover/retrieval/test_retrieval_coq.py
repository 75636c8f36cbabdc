"""The retrieval policy against real Coq: a corpus traced with `prover trace`, then `prover prove`,
`prover sweep` and the Ray policy server with --policy retrieval."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.parallel.policy_server import PolicyServerConfig, RemotePolicy, start_policy_server, stop_servers
from prover.policies.spec import PolicySpec
from prover.retrieval import RetrievalConfig
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

CORPUS = """Require Import List.
Lemma rev_twice (l : list nat) : rev (rev l) = l.
Proof. apply rev_involutive. Qed.
Lemma len_app (l m : list nat) : length (l ++ m) = length l + length m.
Proof. apply app_length. Qed.
"""
TARGET = "Lemma rr (xs : list bool) : rev (rev xs) = xs."


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    source = folder / "Corpus.v"
    source.write_text(CORPUS)
    record, rows = trace_coq_file(TraceJob(str(source), "Corpus.v", "test", "t"), CoqTraceConfig())
    assert [p.status for p in record.proofs] == ["traced", "traced"]
    Dataset(folder / "ds").add_unit(record, rows)
    return folder / "ds"


def test_prove_with_retrieved_tactics(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "retrieval", "--corpus", str(corpus),
                 "--header", "Require Import List.", "--json", TARGET])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"]
    assert result["proof"]["tactics"] == ["apply rev_involutive"]
    # the tactic list alone has no such lemma to apply within the same small budget
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--max-expansions", "8",
                 "--header", "Require Import List.", "--json", TARGET])
    assert code == 1 and not json.loads(capsys.readouterr().out)["proved"]


def test_a_missing_corpus_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--backend", "coq", "--policy", "retrieval", TARGET]) == 2
    assert "needs --corpus" in capsys.readouterr().err
    assert main(["prove", "--backend", "coq", "--policy", "retrieval", "--corpus", str(tmp_path),
                 TARGET]) == 2
    assert "not a traced dataset" in " ".join(capsys.readouterr().err.split())


def test_the_policy_server_serves_the_retrieval_policy(ray_cluster, corpus: Path) -> None:
    config = RetrievalConfig(corpus=str(corpus), tactic_list_weight=0.25)
    spec = PolicySpec("retrieval", "coq", retrieval=config)
    handle = start_policy_server(spec, PolicyServerConfig(num_gpus=0, num_cpus=0))
    try:
        state = "1 goal\n  ys : list bool\n  ============================\n  rev (rev ys) = ys"
        remote = RemotePolicy(handle).propose([state], 5)
        assert remote == spec().propose([state], 5)
        assert remote[0][0].tactic == "apply rev_involutive"
        assert any(c.tactic == "lia" for c in spec().propose([state], 40)[0])  # the list is mixed in
    finally:
        stop_servers([handle])


@pytest.mark.slow
def test_sweep_with_the_retrieval_policy(ray_cluster, corpus: Path, tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    rows = [{"name": "rr", "split": "test", "header": "Require Import List.", "statement": TARGET},
            {"name": "la", "split": "test", "header": "Require Import List.",
             "statement": "Lemma la (u v : list bool) : length (u ++ v) = length u + length v."}]
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    code = main(["sweep", str(bench), "--backend", "coq", "--policy", "retrieval", "--corpus", str(corpus),
                 "--split", "test", "--workers", "2", "--max-expansions", "8", "--out", str(out)])
    assert code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["proved", "proved"]


def test_the_backend_loads_the_tactic_lists_libraries_for_the_retrieval_policy(corpus: Path) -> None:
    spec = PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(corpus=str(corpus)))
    imports = spec.required_imports()
    assert "Require Import Lra." in imports and "Require Import Lia." in imports
    lean = PolicySpec("retrieval", "lean", retrieval=RetrievalConfig(corpus=str(corpus)))
    assert lean.required_imports() == ()
