"""Rounds of the retrieval loop that search fresh standard-library train lemmas each round
(``stdlib_train_fresh``): round r takes, by the sample rule, only train files no earlier round took, and
its lemmas are searched without the rows of its own files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from retrieval_fixtures import trace_into

from prover.backends import BackendSettings
from prover.expert.config import ExpertConfig
from prover.expert.corpus_rounds import CorpusRounds
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.round_corpora import ADDED_FILE
from prover.expert.stages import round_dir, run_stage, write_jsonl
from prover.expert.stdlib_rounds import sample_lemmas
from prover.policies.spec import PolicySpec
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import RunSpec
from prover.stdlib_bench.split import split_of
from prover.sweep import SweepConfig
from search import SearchConfig
from search.backends.coq.config import CoqBackendConfig

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

UNITS = ("Dev/A0.v", "Dev/A1.v", "Dev/A2.v", "Dev/A3.v")  # all train in the fixed split


def source(number: int) -> str:
    return ("Require Import Arith.\n"
            f"Lemma a{number}_one (n : nat) : n + {number} = {number} + n.\n"
            f"Proof. rewrite Nat.add_comm. reflexivity. Qed.\n"
            f"Lemma a{number}_two : {number} = {number}.\nProof. reflexivity. Qed.\n")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("fresh")
    root, corpus = tmp / "theories", tmp / "ds"
    trace_into(corpus, root, {unit: source(number) for number, unit in enumerate(UNITS)})
    return root, corpus


def rounds(root: Path, corpus: Path, *, fresh: bool, out: Path = Path("unused")) -> CorpusRounds:
    policy = PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(corpus=str(corpus)))
    spec = RunSpec(backend=BackendSettings("coq", CoqBackendConfig()), policy=policy,
                   search=SearchConfig(max_expansions=4))
    loop = RetrievalLoopConfig(stdlib_root=str(root), stdlib_train_files=1, stdlib_train_per_file=1,
                               stdlib_train_fresh=fresh)
    run = RetrievalRun(benchmark="bench.jsonl", spec=spec, sweep=SweepConfig(), loop=loop)
    loop_rounds = CorpusRounds(ExpertConfig(out=str(out)), run, None)
    loop_rounds.root = root
    return loop_rounds


def test_the_sample_rule_leaves_out_the_excluded_files(library: tuple[Path, Path]) -> None:
    root, corpus = library
    assert all(split_of(unit) == "train" for unit in UNITS)
    assert list(sample_lemmas(str(corpus), root, "train", 2, 1)) == ["Dev/A0.v", "Dev/A2.v"]
    taken = frozenset({"Dev/A0.v", "Dev/A2.v"})
    assert list(sample_lemmas(str(corpus), root, "train", 2, 1, exclude=taken)) == ["Dev/A1.v", "Dev/A3.v"]


def test_each_round_takes_files_no_earlier_round_took(library: tuple[Path, Path]) -> None:
    root, corpus = library
    fresh = rounds(root, corpus, fresh=True)
    taken = [list(fresh.train_lemmas_for(number)) for number in range(5)]
    assert taken == [["Dev/A0.v"], ["Dev/A1.v"], ["Dev/A2.v"], ["Dev/A3.v"], []]
    assert [lemma.name for lemma in fresh.train_lemmas_for(1)["Dev/A1.v"]] == ["a1_one"]
    # asked out of order, a round's sample is the same (each depends only on the earlier rounds')
    assert list(rounds(root, corpus, fresh=True).train_lemmas_for(2)) == ["Dev/A2.v"]
    same = rounds(root, corpus, fresh=False)
    assert [list(same.train_lemmas_for(number)) for number in range(3)] == [["Dev/A0.v"]] * 3


def test_a_rounds_lemmas_are_searched_without_its_own_files_rows(ray_cluster,
                                                                  library: tuple[Path, Path],
                                                                  tmp_path: Path) -> None:
    import ray

    root, corpus = library
    fresh = rounds(root, corpus, fresh=True, out=tmp_path)
    grown = round_dir(tmp_path, 0)  # round 0 grew nothing: corpus 1 is corpus 0
    write_jsonl(grown / "growth" / ADDED_FILE, [])
    run_stage(grown, "grow", lambda: {"added": 0})

    def goals(number: int) -> str:
        return "\n".join(entry.state for entry in ray.get(fresh.train_lemma_index(number)).entries)

    assert "n + 0 = 0 + n" not in goals(0) and "n + 1 = 1 + n" in goals(0)
    assert "n + 1 = 1 + n" not in goals(1) and "n + 0 = 0 + n" in goals(1)
