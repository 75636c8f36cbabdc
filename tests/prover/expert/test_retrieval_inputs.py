"""What the retrieval loop refuses rather than ignores or trips over: settings it cannot honour, a corpus
that holds no standard-library file where stdlib lemmas are asked for, and stage files damaged since they
were written (the fourth audit of the loop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.backends import BackendSettings
from prover.expert.corpus_check import check_corpus, check_train_lemma_index, split_counts
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.stages import read_jsonl, stage_info
from prover.expert.stdlib_rounds import sample_lemmas
from prover.policies.spec import PolicySpec
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import RunSpec
from prover.stdlib_bench.split import split_of
from prover.sweep import SweepConfig
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.schema import StepRow
from search import SearchConfig
from search.backends.coq.config import CoqBackendConfig

TEST_FILE = "Dev/F1.v"


def run_with(retrieval: RetrievalConfig) -> RetrievalRun:
    spec = RunSpec(backend=BackendSettings("coq", CoqBackendConfig()),
                   policy=PolicySpec("retrieval", "coq", retrieval=retrieval), search=SearchConfig())
    return RetrievalRun(benchmark="bench.jsonl", spec=spec, sweep=SweepConfig())


def test_settings_the_loop_cannot_honour_are_refused_not_ignored() -> None:
    assert run_with(RetrievalConfig(corpus="ds")).retrieval.corpus_split == "train"  # the default: train
    assert run_with(RetrievalConfig(corpus="ds", corpus_split="train")).retrieval.corpus_split == "train"
    with pytest.raises(InputError, match="--retrieval-corpus-split test"):
        _ = run_with(RetrievalConfig(corpus="ds", corpus_split="test")).retrieval
    with pytest.raises(InputError, match="--retrieval-extra"):
        _ = run_with(RetrievalConfig(corpus="ds", extra=("more.jsonl",))).retrieval


def corpus(tmp_path: Path, source: str) -> Path:
    assert split_of(TEST_FILE) == "test"
    dataset = Dataset(tmp_path / f"ds-{source}")
    row = StepRow(source, "coq", TEST_FILE, "t", 1, 1, 0, "1 goal\n  ============================\n  True",
                  "exact I", "", True, "t")
    dataset.add_unit(UnitRecord(source, TEST_FILE, "t", None, 1, (ProofRecord("t", 1, "traced", 1),)), [row])
    return dataset.path


def test_stdlib_lemmas_need_a_corpus_of_the_installed_standard_library(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no traced test file of the standard library"):
        sample_lemmas(str(corpus(tmp_path, "my-dev")), tmp_path, "test", 1, 1)  # another development
    assert sample_lemmas(str(corpus(tmp_path, "my-dev")), tmp_path, "test", 0, 1) == {}  # none asked for
    with pytest.raises(InputError, match=r"Dev/F1\.v is not under"):  # the sources are not where it says
        sample_lemmas(str(corpus(tmp_path, STDLIB_SOURCE)), tmp_path / "nowhere", "test", 1, 1)


def test_damaged_stage_files_are_errors_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "grow.done.json").write_text("garbage")
    with pytest.raises(InputError, match=r"grow\.done\.json: damaged stage marker .* delete it"):
        stage_info(tmp_path, "grow")
    (tmp_path / "pairs.jsonl").write_text('{"state": "s", "tactic": "t"}\n{"state": "s", "tac\n')
    with pytest.raises(InputError, match=r"pairs\.jsonl:2: damaged"):
        list(read_jsonl(tmp_path / "pairs.jsonl"))


def add_file(dataset: Dataset, source: str, unit: str, steps: int) -> None:
    rows = [StepRow(source, "coq", unit, "t", 1, 1, step, "1 goal\n  ============================\n  True",
                    "exact I", "", True, "t") for step in range(steps)]
    record = UnitRecord(source, unit, "t", None, steps, (ProofRecord("t", 1, "traced", steps),))
    dataset.add_unit(record, rows)


def test_a_corpus_without_train_rows_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    """A dataset of held-out stdlib files only would leave corpus 0 empty: refused before any search,
    saying how many steps it holds and that none is in a train file; a small train part is fine."""
    assert (split_of("Bool/Bool.v"), split_of("Bool/BoolOrder.v")) == ("valid", "train")
    dataset = Dataset(tmp_path / "ds")
    add_file(dataset, STDLIB_SOURCE, "Bool/Bool.v", 3)
    add_file(dataset, STDLIB_SOURCE, TEST_FILE, 2)
    assert split_counts(str(dataset.path)) == {"valid": (1, 3), "test": (1, 2)}
    with pytest.raises(InputError) as error:
        check_corpus(str(dataset.path))
    message = " ".join(str(error.value).split())
    assert message.startswith(f"retrieval corpus {dataset.path} (train files): no traced steps to index")
    assert "holds 5 traced steps" in message and "none from a train-split file" in message
    assert "1 test file (2 steps), 1 valid file (3 steps)" in message
    assert f"`prover trace --out {dataset.path}`" in message
    # an empty dataset keeps the plain message (nothing traced at all)
    with pytest.raises(InputError, match="no traced steps to index") as error:
        check_corpus(str(Dataset(tmp_path / "empty").path))
    assert "train-split" not in str(error.value)
    # one small train file is a corpus 0 (no warning): the digest comes back
    add_file(dataset, STDLIB_SOURCE, "Bool/BoolOrder.v", 1)
    assert check_corpus(str(dataset.path)) == dataset.digest()
    # another development's file is train too
    other = Dataset(tmp_path / "dev")
    add_file(other, "my-dev", TEST_FILE, 1)
    assert check_corpus(str(other.path)) == other.digest()


def test_a_stdlib_train_sample_that_takes_every_train_file_is_refused(tmp_path: Path) -> None:
    """The sampled train lemmas are searched with corpus 0 less their own files' rows: when those are all
    of corpus 0, the run is refused before any search instead of failing mid-round."""
    dataset = Dataset(tmp_path / "ds")
    add_file(dataset, STDLIB_SOURCE, "Bool/Bool.v", 3)  # valid: never in an index
    add_file(dataset, STDLIB_SOURCE, "Bool/BoolOrder.v", 2)
    sampled = {(STDLIB_SOURCE, "Bool/BoolOrder.v")}
    with pytest.raises(InputError) as error:
        check_train_lemma_index(str(dataset.path), sampled, option="--stdlib-train-files")
    message = " ".join(str(error.value).split())
    assert "sampled by --stdlib-train-files (Bool/BoolOrder.v)" in message and "would be empty" in message
    check_train_lemma_index(str(dataset.path), set(), option="--stdlib-train-files")  # nothing sampled
    add_file(dataset, "my-dev", "A.v", 1)  # one more train file: its row is left to index
    check_train_lemma_index(str(dataset.path), sampled, option="--stdlib-train-files")
