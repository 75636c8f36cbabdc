"""``prover train --policy retrieval`` against real Coq: round 1's corpus holds round 0's new proofs, and a
held-out theorem unsolved in round 0 is solved in round 1 at the same budget because of them (the
construction is in ``retrieval_fixtures``); a rerun resumes, a larger --rounds continues, and another
budget is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from retrieval_fixtures import (
    CORPUS,
    CORPUS_UNIT,
    HELD_OUT,
    KEY_TACTIC,
    SIBLING,
    TRIVIAL,
    trace_into,
    train_argv,
    write_bench,
)

from prover.cli.main import main

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_name(folder: Path) -> dict[str, dict]:
    return {r["theorem"]: r for r in lines(folder / "results.jsonl")}


def marker(out: Path, round_number: int, stage: str) -> dict:
    return json.loads((out / f"round-{round_number:02d}" / f"{stage}.done.json").read_text())


@pytest.mark.slow
def test_a_held_out_theorem_is_solved_in_round_1_because_of_a_round_0_proof(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "ds"
    trace_into(corpus, tmp_path / "theories", {CORPUS_UNIT: CORPUS})
    bench, out = write_bench(tmp_path / "bench.jsonl"), tmp_path / "run"
    assert main(train_argv(bench, corpus, out, "--rounds", "1")) == 0

    run = json.loads((out / "run.json").read_text())
    assert run["parts"]["heldout"] == [HELD_OUT] and run["parts"]["data"] == [SIBLING, TRIVIAL]
    assert run["budget"]["max_expansions"] == 8
    # round 0: the held-out theorem is out of reach; the data rows are proved (kernel-checked)
    first = by_name(out / "round-00" / "heldout")
    assert first[HELD_OUT]["status"] == "unproved" and first[HELD_OUT]["stop_reason"] == "expansion_budget"
    data = by_name(out / "round-00" / "search")
    assert data[SIBLING]["proof"] == ["intros", KEY_TACTIC] and data[TRIVIAL]["proof"] == ["lia"]
    assert all("Qed." in data[name]["proof_text"] for name in (SIBLING, TRIVIAL))
    # the round's SFT data holds every verified step; the corpus grows by the sibling's two, not the trivial
    pairs = lines(out / "round-00" / "data" / "pairs.jsonl")
    assert {(p["theorem"], p["tactic"]) for p in pairs} == {
        (SIBLING, "intros"), (SIBLING, KEY_TACTIC), (TRIVIAL, "lia")}
    added = lines(out / "round-00" / "growth" / "added.jsonl")
    assert [(p["theorem"], p["tactic"]) for p in added] == [(SIBLING, "intros"), (SIBLING, KEY_TACTIC)]
    assert marker(out, 0, "grow")["dropped"]["trivial"] == 1
    # round 1 searches with corpus 0 + those pairs, and proves the held-out theorem with the sibling's step
    heldout = marker(out, 1, "heldout")
    assert heldout["extra_files"] == 1 and heldout["proved"] == 1
    second = by_name(out / "round-01" / "heldout")[HELD_OUT]
    assert second["status"] == "proved" and second["proof"] == ["intros", KEY_TACTIC]
    assert second["stats"]["expansions"] <= 8 and second["policy"].endswith("+corpus-01")
    assert not (out / "round-01" / "search").exists()  # the last round only evaluates

    report = json.loads((out / "report.json").read_text())
    assert [r["rates"]["heldout"] for r in report["rounds"]] == [0.0, 1.0]
    assert (out / "report.png").stat().st_size > 0
    capsys.readouterr()

    before = {p: p.stat().st_mtime_ns for p in out.glob("round-*/*.done.json")}
    assert main(train_argv(bench, corpus, out, "--rounds", "1")) == 0  # resumed: nothing runs again
    assert {p: p.stat().st_mtime_ns for p in out.glob("round-*/*.done.json")} == before

    assert main(train_argv(bench, corpus, out, "--rounds", "2")) == 0  # continues with round 1's data search
    grown = marker(out, 1, "grow")
    # the sibling's steps are in corpus 1 already: duplicates; the trivial proof is counted again
    assert grown["dropped"]["duplicate"] == 2 and grown["dropped"]["trivial"] == 1 and grown["added"] == 0
    assert marker(out, 2, "heldout")["proved"] == 1 and marker(out, 2, "heldout")["extra_files"] == 2

    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().err  # prover's console is stderr
    assert "held-out" in printed and "1/1" in printed and "0/1" in printed

    assert main(train_argv(bench, corpus, out, "--rounds", "2", "--max-expansions", "16")) == 2  # other run
    assert "another budget" in capsys.readouterr().err

    trace_into(corpus, tmp_path / "theories", {"Dev/Later.v": "Lemma later : True.\nProof. exact I. Qed.\n"})
    assert main(train_argv(bench, corpus, out, "--rounds", "3")) == 2  # the corpus changed under the run
    assert "another corpus_digest" in capsys.readouterr().err


@pytest.mark.slow
def test_with_minimise_proofs_the_data_comes_from_the_minimised_records(ray_cluster, tmp_path: Path) -> None:
    corpus = tmp_path / "ds"
    trace_into(corpus, tmp_path / "theories", {CORPUS_UNIT: CORPUS})
    bench, out = write_bench(tmp_path / "bench.jsonl"), tmp_path / "run"
    assert main(train_argv(bench, corpus, out, "--rounds", "1", "--minimise-proofs")) == 0
    assert "minimise" in json.loads((out / "run.json").read_text())["growth"]
    # the sibling's proof has no step to spare (``apply`` does not work under the binders); the trivial
    # proof has one step: both records reach the data as found, read from the minimised folder
    counts = marker(out, 0, "minimise")
    assert {k: counts[k] for k in counts if k not in ("finished_at", "seconds")} == {"minimal": 1, "short": 1}
    minimised = by_name(out / "round-00" / "minimised")
    assert minimised == by_name(out / "round-00" / "search")
    assert marker(out, 0, "collect")["sources"][0].endswith("round-00/minimised")
    assert marker(out, 1, "heldout")["proved"] == 1
    report = (out / "report.md").read_text()
    assert ("round 0: 0 of 1 multi-step proofs shortened by 0 steps (0 shorter proofs rejected by "
            "verification, 0 not replayed, 0 refused by the tactic filter)") in report


def test_an_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bench = write_bench(tmp_path / "bench.jsonl")
    argv = train_argv(bench, tmp_path / "nothing", tmp_path / "run")
    assert main(argv) == 2
    assert "not a traced dataset" in " ".join(capsys.readouterr().err.split())
    test_only = tmp_path / "ds"  # a corpus whose only file is a test file: no train rows to index
    trace_into(test_only, tmp_path / "theories", {"Dev/F1.v": CORPUS})
    assert main(train_argv(bench, test_only, tmp_path / "run")) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"retrieval corpus {test_only} (train files)" in err and "no traced steps to index" in err
    # it says what the dataset holds instead, and how to get train rows
    assert "none from a train-split file: 1 test file" in err and f"prover trace --out {test_only}" in err
    assert not (tmp_path / "run" / "round-00" / "heldout.done.json").exists()
