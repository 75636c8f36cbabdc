"""The tracing settings and traced rows validate declaratively: every problem at once, a row named by its
file, line and theorem."""

from __future__ import annotations

import math

import pytest

from prover.tracing.coq_trace_job import CoqTraceConfig
from prover.tracing.schema import StepRow
from search.backends.coq.config import CoqBackendConfig
from search.validation import ConfigError

ROW = dict(source="coq-stdlib", assistant="coq", file="Arith/A.v", theorem="plus_comm", line=12, column=3,
           step=0, state_before="n : nat\n============================\nn + 0 = n", tactic="lia",
           state_after="", closed=True, trace="t1")


def test_a_trace_config_reports_each_bad_setting() -> None:
    for timeout in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ConfigError, match="sentence_timeout must be"):
            CoqTraceConfig(sentence_timeout=timeout)
    with pytest.raises(ConfigError) as caught:
        CoqTraceConfig(backend="coqtop", sentence_timeout=0)  # type: ignore[arg-type]
    assert caught.value.keys == ("backend", "sentence_timeout")
    assert str(caught.value).startswith("invalid Coq trace configuration: backend must be a CoqBackendConfig")
    config = CoqTraceConfig(sentence_timeout=30)
    assert config.sentence_timeout == 30.0 and isinstance(config.backend, CoqBackendConfig)


def test_a_traced_step_names_where_it_comes_from_and_every_problem() -> None:
    assert StepRow(**ROW).tactic == "lia"  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        StepRow(**{**ROW, "assistant": "isabelle", "tactic": " ", "line": -1, "step": -2})  # type: ignore[arg-type]
    error = caught.value
    assert error.keys == ("assistant", "line", "step", "tactic")
    assert str(error).startswith("invalid traced step Arith/A.v:-1 of 'plus_comm': assistant must be one of ")
    assert isinstance(error, ValueError)
    with pytest.raises(ConfigError, match="closed must be true or false, got 1"):
        StepRow(**{**ROW, "closed": 1})  # type: ignore[arg-type]
