"""The data searches of the retrieval loop may explore with a larger budget than the evaluation, which
keeps the run's one budget so that rounds are measured alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from prover.backends import BackendSettings
from prover.expert.config import ExpertConfig
from prover.expert.corpus_rounds import CorpusRounds
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.retrieval_run import RetrievalRun
from prover.policies.spec import PolicySpec
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import RunSpec
from prover.sweep import SweepConfig
from search import SearchConfig
from search.backends.coq.config import CoqBackendConfig
from search.validation import ConfigError

BUDGET = SearchConfig(max_expansions=16, time_limit=10.0)


def rounds(factor: float, search: SearchConfig = BUDGET, width: int | None = None) -> CorpusRounds:
    policy = PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(corpus="corpus"))
    spec = RunSpec(backend=BackendSettings("coq", CoqBackendConfig()), policy=policy, search=search)
    run = RetrievalRun(benchmark="bench.jsonl", spec=spec, sweep=SweepConfig(),
                       loop=RetrievalLoopConfig(data_budget_factor=factor, data_tactics_per_node=width))
    return CorpusRounds(ExpertConfig(out="unused"), run, None)


def test_the_data_searches_get_the_factor_and_the_evaluation_the_budget() -> None:
    loop = rounds(2.5)
    assert loop.search_for(data=False) == BUDGET
    data = loop.search_for(data=True)
    assert (data.max_expansions, data.time_limit) == (40, 25.0)
    assert replace(data, max_expansions=16, time_limit=10.0) == BUDGET  # nothing else changes
    assert loop.spec_for(0, data=True).search == data and loop.spec_for(0).search == BUDGET


def test_factor_one_is_the_one_budget_and_unbounded_stays_unbounded() -> None:
    assert rounds(1.0).search_for(data=True) == BUDGET
    unbounded = rounds(3.0, SearchConfig(max_expansions=None, time_limit=None)).search_for(data=True)
    assert (unbounded.max_expansions, unbounded.time_limit) == (None, None)


def test_a_factor_below_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="data_budget_factor"):
        RetrievalLoopConfig(data_budget_factor=0.5)


def test_the_data_searches_may_ask_for_more_tactics_per_node() -> None:
    loop = rounds(1.0, replace(BUDGET, tactics_per_node=16), width=48)
    assert loop.search_for(data=False).tactics_per_node == 16
    assert loop.search_for(data=True) == replace(BUDGET, tactics_per_node=48)
    both = rounds(2.0, replace(BUDGET, tactics_per_node=16), width=32).search_for(data=True)
    assert (both.tactics_per_node, both.max_expansions, both.time_limit) == (32, 32, 20.0)
    assert "data_budget" not in rounds(1.0).manifest(Path("bench.jsonl"))
    assert rounds(1.0, width=48).manifest(Path("bench.jsonl"))["data_budget"]["tactics_per_node"] == 48


def test_the_run_records_the_backend_settings_that_change_results(tmp_path: Path) -> None:
    """Rounds searched one way must not continue another: allowed axioms, memory limits ... are part of the
    run; the pool sizes a sweep may change on resume are not."""
    from prover.expert.run_manifest import RunMismatchError, check_run

    def manifest(coq: CoqBackendConfig) -> dict:
        loop = rounds(1.0)
        loop.run = replace(loop.run, spec=replace(loop.run.spec, backend=BackendSettings("coq", coq)))
        return loop.manifest(Path("bench.jsonl"))

    first = manifest(CoqBackendConfig())
    settings = first["backend_settings"]
    assert settings["memory_limit_mb"] == 4096 and "keep_coqtops" not in settings
    check_run(tmp_path, first)
    check_run(tmp_path, manifest(CoqBackendConfig(keep_coqtops=0)))  # a pool size: the same run
    with pytest.raises(RunMismatchError, match=r"backend_settings\.memory_limit_mb: 4096 there, 2048 now"):
        check_run(tmp_path, manifest(CoqBackendConfig(memory_limit_mb=2048)))


def test_a_training_run_s_theorems_and_attempts_stay_as_they_began() -> None:
    from prover.expert.cli import TRAIN_RESUMABLE
    from prover.sweep.manifest import config_differences

    old = {"benchmark": "b", "config": {"sweep.limit": 4, "sweep.attempts": 1, "expert.rounds": 1,
                                        "sweep.workers": 1}}
    new = {"benchmark": "b", "config": {"sweep.limit": 8, "sweep.attempts": 2, "expert.rounds": 3,
                                        "sweep.workers": 4}}
    assert set(config_differences(old, new, TRAIN_RESUMABLE)) == {"sweep.limit", "sweep.attempts"}
