"""The standard-library parts of the retrieval loop against real Coq, on a small library of our own
(``--stdlib-root``): test lemmas are evaluated with the train files' proofs in the index, and a sampled
train lemma is searched without its own file's rows, so it cannot replay its human proof."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from retrieval_fixtures import CORPUS, CORPUS_UNIT, TRIVIAL, trace_into, train_argv, write_bench

from prover.cli.main import main
from prover.expert.stdlib_rounds import sample_lemmas
from prover.retrieval.policy import load_index
from prover.stdlib_bench.split import split_of
from prover.tracing.coq_files import STDLIB_SOURCE

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

TRAIN_UNIT, TEST_UNIT = "Dev/A0.v", "Dev/B0.v"
TRAIN_FILE = """Require Import Arith.
Lemma a0_gcd (a b : nat) : Nat.gcd a b = Nat.gcd b a.
Proof. apply Nat.gcd_comm. Qed.
"""
TEST_FILE = """Require Import Arith.
Lemma b0_gcd (x y : nat) : Nat.gcd x y = Nat.gcd y x.
Proof. apply Nat.gcd_comm. Qed.
"""
KEY = "apply Nat.gcd_comm"


def records(folder: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in (folder / "results.jsonl").read_text().splitlines()]
    return {r["theorem"]: r for r in rows}


@pytest.mark.slow
def test_stdlib_test_lemmas_use_the_train_files_and_a_train_lemma_never_its_own(ray_cluster,
                                                                              tmp_path: Path) -> None:
    assert [split_of(u) for u in (TRAIN_UNIT, CORPUS_UNIT, TEST_UNIT)] == ["train", "train", "test"]
    root, corpus = tmp_path / "theories", tmp_path / "ds"
    trace_into(corpus, root, {CORPUS_UNIT: CORPUS, TRAIN_UNIT: TRAIN_FILE, TEST_UNIT: TEST_FILE})
    # the sample rule: the first of the two train files, its one lemma; the test file's lemma
    assert {u: [lm.name for lm in ls] for u, ls in sample_lemmas(str(corpus), root, "train", 1, 2).items()} \
        == {TRAIN_UNIT: ["a0_gcd"]}
    index = load_index(corpus, assistant="coq")
    assert any(KEY in dict(entry.tactics) for entry in index.entries)  # the human proof is in the corpus
    out = tmp_path / "run"
    argv = train_argv(write_bench(tmp_path / "bench.jsonl", (TRIVIAL,)), corpus, out, "--rounds", "1",
                      "--retrieval-min-similarity", "0.05", "--heldout-percent", "0", "--stdlib-root",
                      str(root), "--stdlib-train-files", "1", "--stdlib-test-files", "1")
    assert main(argv) == 0

    run = json.loads((out / "run.json").read_text())
    assert run["stdlib"]["train"] == [f"{TRAIN_UNIT}:a0_gcd:2"]
    assert run["stdlib"]["test"] == [f"{TEST_UNIT}:b0_gcd:2"] and run["parts"]["heldout"] == []
    for number in (0, 1):  # the test lemma is proved from the train file's proof, in the whole-file check
        test = records(out / f"round-{number:02d}" / "stdlib-test")["b0_gcd"]
        assert test["status"] == "proved" and test["proof"] == [KEY]
        assert "Lemma b0_gcd" in test["proof_text"] and test["split"] == "stdlib-test"
    train = records(out / "round-00" / "stdlib-train")["a0_gcd"]
    assert train["status"] == "unproved" and train["stop_reason"] in ("expansion_budget", "exhausted")
    assert not (out / "round-00" / "heldout").exists()
    pairs = [json.loads(x) for x in (out / "round-00" / "data" / "pairs.jsonl").read_text().splitlines()]
    assert {p["theorem"] for p in pairs} == {TRIVIAL}  # the data rows' proofs only: nothing leaked
    report = json.loads((out / "report.json").read_text())
    assert [r["rates"].get("stdlib_test") for r in report["rounds"]] == [1.0, 1.0]
    assert report["rounds"][0]["rates"]["stdlib_train"] == 0.0


def test_a_file_whose_worker_crashed_is_searched_again_by_a_rerun(ray_cluster, tmp_path: Path) -> None:
    """A crash records the file's lemmas as ``crashed`` errors (not counted); a rerun searches that file
    again and its records stand, one per lemma."""
    import ray

    from prover.expert.stdlib_rounds import read_lemma_records, run_lemmas
    from prover.retrieval import RetrievalConfig
    from search import SearchConfig

    root, corpus = tmp_path / "theories", tmp_path / "ds"
    trace_into(corpus, root, {TRAIN_UNIT: TRAIN_FILE, TEST_UNIT: TEST_FILE})
    lemmas = sample_lemmas(str(corpus), root, "test", 1, 1)
    (lemma,) = lemmas[TEST_UNIT]
    folder = tmp_path / "stdlib-test"
    folder.mkdir()
    crashed = {"theorem": lemma.name, "attempt": 1, "status": "error", "message": "worker died",
               "key": lemma.key, "unit": TEST_UNIT, "line": lemma.line, "crashed": True}
    (folder / "results.jsonl").write_text(json.dumps(crashed) + "\n")
    assert read_lemma_records(folder)[0]["crashed"]
    index_ref = ray.put(load_index(corpus, assistant="coq", files={(STDLIB_SOURCE, TRAIN_UNIT)}))
    summary = run_lemmas(folder, lemmas, root=root, index_ref=index_ref, retrieval=RetrievalConfig(),
                         search=SearchConfig(time_limit=20, max_expansions=8), label="retrieval",
                         split="stdlib-test")
    assert summary["lemmas"] == 1 and summary["proved"] == 1 and summary["errors"] == 0
    (record,) = read_lemma_records(folder)
    assert record["status"] == "proved" and record["proof"] == [KEY]
    assert len((folder / "results.jsonl").read_text().splitlines()) == 2  # the crash stays on file
    assert record["seconds"] > 0 and record["seconds"] >= round(record["stats"]["wall_seconds"], 4)
    assert f"| {lemma.name} | {TEST_UNIT} | {lemma.line} | proved |" in (folder / "report.md").read_text()


def test_lemmas_whose_environment_failed_keep_the_stage_open_and_run_again(ray_cluster,
                                                                          tmp_path: Path) -> None:
    """The run's Coq settings reach the stdlib lemmas' searches (a coqtop that does not exist fails them);
    their error records are no verdict: no summary (the stage stays open) until a rerun searches them."""
    import ray

    from prover.expert.stdlib_rounds import read_lemma_records, run_lemmas
    from prover.retrieval import RetrievalConfig
    from search import SearchConfig
    from search.backends.coq.config import CoqBackendConfig
    from search.errors import ProverError

    root, corpus = tmp_path / "theories", tmp_path / "ds"
    trace_into(corpus, root, {TRAIN_UNIT: TRAIN_FILE, TEST_UNIT: TEST_FILE})
    lemmas = sample_lemmas(str(corpus), root, "test", 1, 1)
    folder = tmp_path / "stdlib-test"
    index_ref = ray.put(load_index(corpus, assistant="coq", files={(STDLIB_SOURCE, TRAIN_UNIT)}))
    run = dict(root=root, index_ref=index_ref, retrieval=RetrievalConfig(), label="retrieval",
               search=SearchConfig(time_limit=20, max_expansions=8), split="stdlib-test")
    with pytest.raises(ProverError, match=r"1 stdlib lemma\(s\) in 1 file\(s\) ended in an error"):
        run_lemmas(folder, lemmas, coq=CoqBackendConfig(coqtop="/nonexistent/coqtop"), **run)
    assert read_lemma_records(folder)[0]["status"] == "error"
    summary = run_lemmas(folder, lemmas, **run)  # the same lemmas again, Coq working
    assert summary["lemmas"] == 1 and summary["proved"] == 1 and summary["errors"] == 0
