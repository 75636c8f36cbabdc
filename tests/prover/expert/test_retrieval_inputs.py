"""What the retrieval loop refuses rather than ignores or trips over: settings it cannot honour, a corpus
that holds no standard-library file where stdlib lemmas are asked for, and stage files damaged since they
were written (the fourth audit of the loop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.backends import BackendSettings
from prover.expert.retrieval_loop import RetrievalRun
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
