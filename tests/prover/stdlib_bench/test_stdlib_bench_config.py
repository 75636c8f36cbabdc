"""The stdlib benchmark's settings validate declaratively, every problem at once, defaults unchanged."""

from __future__ import annotations

import pytest

from prover.stdlib_bench.runner import StdlibBenchConfig
from search.validation import ConfigError


def test_defaults_stay_and_every_problem_is_reported_at_once() -> None:
    config = StdlibBenchConfig(corpus="ds", root="theories", out="out")
    assert (config.split, config.budget, config.tactic_timeout, config.per_file, config.max_files,
            config.methods, config.retrieval.tactic_list_weight, config.retrieval.premise_weight,
            config.retrieval.width) == ("test", 10.0, 2.0, 3, None, ("retrieval", "sauto"), 0.7, 0.4, 20)
    with pytest.raises(ConfigError) as caught:
        StdlibBenchConfig(corpus=" ", root="theories", out="out", split="train", budget=0, tactic_timeout=-1,
                          per_file=0, max_files=0, methods=("retrieval", "magic"))
    error = caught.value
    assert error.keys == ("corpus", "split", "budget", "tactic_timeout", "per_file", "max_files", "methods")
    assert "methods must be among retrieval, sauto, tactics, got 'magic'" in str(error)
    assert str(error).startswith("invalid stdlib benchmark configuration: ")
    with pytest.raises(ConfigError, match="methods needs at least 1 item"):
        StdlibBenchConfig(corpus="ds", root="theories", out="out", methods=())
    assert StdlibBenchConfig(corpus="ds", root="r", out="o", methods=["sauto"]).methods == (  # type: ignore[arg-type]
        "sauto",)


def test_a_run_recorded_before_a_setting_existed_resumes_at_its_old_value(tmp_path) -> None:
    from prover.stdlib_bench.runner import check_same_run
    from prover.theorem_input import InputError

    old = {"budget": 10.0, "out": "a"}  # a config.json written before alpha was a setting
    check_same_run(old, old | {"alpha": 2.0}, tmp_path)
    with pytest.raises(InputError, match=r"alpha: None there, 1\.0 now"):
        check_same_run(old, old | {"alpha": 1.0}, tmp_path)


def test_the_recorded_config_says_what_the_retrieval_index_holds(tmp_path) -> None:
    """``retrieval``'s own corpus stays empty (the benchmark builds the index): ``config.json`` names the
    index's corpus and files beside it, and an older record without that note still resumes."""
    from prover.stdlib_bench.runner import check_same_run, recorded_config

    config = StdlibBenchConfig(corpus="ds", root="theories", out="out")
    recorded = recorded_config(config)
    assert recorded["retrieval"]["corpus"] == "" and recorded["retrieval_index"]["corpus"] == "ds"
    assert "train files" in recorded["retrieval_index"]["files"]
    assert "retrieval_index" not in recorded_config(StdlibBenchConfig(corpus="ds", root="r", out="o",
                                                                      methods=("sauto",)))
    older = {key: value for key, value in recorded.items() if key != "retrieval_index"}
    check_same_run(older, recorded, tmp_path)
