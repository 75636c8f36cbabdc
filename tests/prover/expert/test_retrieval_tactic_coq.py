"""``prover train --policy retrieval --tactic-model tiny`` against real Coq: the loop of
``test_retrieval_loop_coq`` with the tactic model switched on. The retrieval rounds come out as without it
(round 0 misses the held-out theorem, round 1 proves it), round 0's tactic model trains on the traced train
file's pairs and round 1's on the sibling's two added steps, both evaluated on the traced test file's steps,
and the report has the tactic table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from retrieval_fixtures import CORPUS, CORPUS_UNIT, KEY_TACTIC, SIBLING, trace_into, train_argv, write_bench

from prover.cli.main import main
from prover.stdlib_bench.split import split_of

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

TEST_UNIT = "Dev/F1.v"  # a test file of the fixed split: held out from the corpus and from training
TEST_FILE = """Require Import List.
Lemma rev_rev_bool (l : list bool) : rev (rev l) = l.
Proof. apply rev_involutive. Qed.
Lemma app_nil_bool (l : list bool) : l ++ nil = l.
Proof. apply app_nil_r. Qed.
Lemma add_zero_again (m : nat) : m + 0 = m.
Proof. induction m; simpl; auto. Qed.
"""
TACTIC_OPTIONS = ("--tactic-model", "tiny", "--tactic-heldout-pairs", "3", "--tactic-k", "2",
                  "--tactic-max-new-tokens", "16", "--train-max-seconds", "3", "--train-epochs", "2000",
                  "--train-learning-rate", "0.01", "--train-warmup", "0", "--train-device", "cpu")


def marker(out: Path, round_number: int, stage: str) -> dict:
    return json.loads((out / f"round-{round_number:02d}" / f"{stage}.done.json").read_text())


@pytest.mark.slow
def test_the_loop_trains_the_tactic_model_on_each_rounds_corpus_and_reports_it(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert split_of(TEST_UNIT) == "test" and split_of(CORPUS_UNIT) == "train"
    corpus = tmp_path / "ds"
    trace_into(corpus, tmp_path / "theories", {CORPUS_UNIT: CORPUS, TEST_UNIT: TEST_FILE})
    bench, out = write_bench(tmp_path / "bench.jsonl"), tmp_path / "run"
    assert main(train_argv(bench, corpus, out, "--rounds", "1", *TACTIC_OPTIONS)) == 0

    assert marker(out, 0, "heldout")["proved"] == 0 and marker(out, 1, "heldout")["proved"] == 1
    first, second = marker(out, 0, "tactic_model"), marker(out, 1, "tactic_model")
    assert first["pairs"]["trained"] == 5 and first["heldout_pairs"] == 3  # the train file's five steps
    assert first["after"]["perplexity"] < first["before"]["perplexity"]
    trained = [json.loads(line) for line in
               (out / "round-01" / "tactic-model" / "pairs.jsonl").read_text().splitlines()]
    assert [row["tactic"] for row in trained] == ["intros", KEY_TACTIC]  # what round 0 added: the sibling's
    assert second["init_model"] == first["model_dir"] and second["before"] == first["after"]
    assert second["training"]["examples"] == 2
    plan = json.loads((out / "tactic-model" / "plan.json").read_text())
    assert plan["heldout"]["pairs"] == 3 and plan["model"] == "tiny"
    assert "tactic" not in json.loads((out / "run.json").read_text())  # the retrieval run is unchanged

    text = (out / "report.md").read_text()
    assert "## Tactic model: held-out tactic prediction" in text and "| 1 | 2 |" in text
    assert SIBLING in (out / "round-00" / "growth" / "added.jsonl").read_text()
    assert "tactic model, round 1: 2 pairs trained" in " ".join(capsys.readouterr().err.split())
