"""Pair files indexed beside the traced corpus (``RetrievalConfig.extra``) and the corpus restricted to a part
of the fixed file split (``corpus_split``): what is indexed, and a clear error naming the file and line for
a pair file that cannot be read."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from prover.retrieval.extra_pairs import ExtraPairsError, read_extra_pairs
from prover.retrieval.policy import RetrievalConfig, config_index, load_index
from prover.stdlib_bench.split import split_of
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.schema import StepRow

TRAIN, TEST = "Dev/F0.v", "Dev/F1.v"


def state(conclusion: str) -> str:
    return f"1 goal\n  n : nat\n  ============================\n  {conclusion}"


def corpus(tmp_path: Path, source: str = STDLIB_SOURCE) -> Path:
    assert (split_of(TRAIN), split_of(TEST)) == ("train", "test")
    dataset = Dataset(tmp_path / "ds")
    for unit, conclusion, tactic in ((TRAIN, "n + 0 = n", "lia"), (TEST, "n * 1 = n", "ring")):
        row = StepRow(source, "coq", unit, "t", 1, 1, 0, state(conclusion), tactic, "", True, "t")
        dataset.add_unit(UnitRecord(source, unit, "t", None, 0, (ProofRecord("t", 1, "traced", 1),)), [row])
    return dataset.path


def write(path: Path, *rows: object) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_pair_files_join_the_index_and_the_split_keeps_test_files_out(tmp_path: Path) -> None:
    ds = corpus(tmp_path)
    extra = write(tmp_path / "added.jsonl", {"state": state("0 + n = n"), "tactic": "simpl; reflexivity",
                                              "theorem": "found", "round": 0})
    empty = write(tmp_path / "none.jsonl")  # a round that added nothing
    everything = load_index(ds, assistant="coq")
    assert sorted(e.tactics[0][0] for e in everything.entries) == ["lia", "ring"]
    config = RetrievalConfig(corpus=str(ds), corpus_split="train", extra=(str(extra), str(empty)))
    index = config_index(config, "coq")
    assert {e.state: e.tactics for e in index.entries} == {
        state("n + 0 = n"): (("lia", 1),), state("0 + n = n"): (("simpl; reflexivity", 1),)}
    assert pickle.loads(pickle.dumps(config)) == config  # sent to Ray workers


def test_a_held_out_stdlib_file_stays_out_beside_another_corpus_s_file_of_one_path(tmp_path: Path) -> None:
    """Two corpora may hold a file of one path (a stdlib test file, another development's train file):
    the split is per (source, unit), so the stdlib file's rows never reach a train index."""
    ds = corpus(tmp_path)
    row = StepRow("my-dev", "coq", TEST, "t", 1, 1, 0, state("0 = 0"), "reflexivity", "", True, "t")
    Dataset(ds).add_unit(UnitRecord("my-dev", TEST, "t", None, 1, (ProofRecord("t", 1, "traced", 1),)), [row])
    index = config_index(RetrievalConfig(corpus=str(ds), corpus_split="train"), "coq")
    assert sorted(e.tactics[0][0] for e in index.entries) == ["lia", "reflexivity"]  # no stdlib `ring`


def test_the_split_holds_out_standard_library_files_only(tmp_path: Path) -> None:
    """Another development's files are train whatever their names: the split is the stdlib's."""
    index = config_index(RetrievalConfig(corpus=str(corpus(tmp_path, "my-dev")), corpus_split="train"), "coq")
    assert sorted(e.tactics[0][0] for e in index.entries) == ["lia", "ring"]


def test_a_bad_pair_file_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    good = {"state": state("n = n"), "tactic": "reflexivity"}
    cases = {
        "missing.jsonl": None,
        "broken.jsonl": write(tmp_path / "broken.jsonl", good, '{"state": "x", "tac'),
        "no_tactic.jsonl": write(tmp_path / "no_tactic.jsonl", good, "", {"state": "x", "tactic": " "}),
        "list.jsonl": write(tmp_path / "list.jsonl", [1, 2]),
    }
    expected = {"missing.jsonl": (0, "cannot read the pair file"), "broken.jsonl": (2, "not valid JSON"),
                "no_tactic.jsonl": (3, "no tactic"), "list.jsonl": (1, "a row must be a JSON object")}
    for name, (line, problem) in expected.items():
        path = cases[name] or tmp_path / name
        with pytest.raises(ExtraPairsError) as caught:
            list(read_extra_pairs([path]))
        assert (caught.value.path, caught.value.line) == (str(path), line) and problem in str(caught.value)
        assert pickle.loads(pickle.dumps(caught.value)).line == line
    config = RetrievalConfig(corpus=str(corpus(tmp_path)), extra=(str(cases["broken.jsonl"]),))
    with pytest.raises(InputError, match=r"retrieval pairs .*broken\.jsonl:2: not valid JSON"):
        config_index(config, "coq")


def test_a_corpus_split_with_no_rows_is_an_input_error(tmp_path: Path) -> None:
    config = RetrievalConfig(corpus=str(corpus(tmp_path)), corpus_split="valid")
    with pytest.raises(InputError, match=r"\(valid files\): no traced steps to index"):
        config_index(config, "coq")
