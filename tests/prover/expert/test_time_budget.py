"""A fixed-time training run: ``TrainConfig.max_seconds`` stops the trainer once the budget is spent and the
model it has is published as the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from expert_fixtures import torch_threads
from transformers import TrainerControl, TrainerState, TrainingArguments

from prover.expert import TrainConfig, train_sft
from prover.expert.time_budget import TimeBudget
from search.validation import ConfigError

PAIRS = [{"state": "x : ℕ\n⊢ x + 0 = x", "tactic": "simp"}, {"state": "⊢ True", "tactic": "trivial"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_callback_stops_after_the_first_step_that_ends_past_the_budget(tmp_path: Path) -> None:
    clock = FakeClock()
    budget = TimeBudget(10.0, clock=clock)
    args, state, control = TrainingArguments(output_dir=str(tmp_path)), TrainerState(), TrainerControl()
    budget.on_train_begin(args, state, control)
    for step, now in enumerate((103.0, 109.9, 110.0, 111.0), start=1):
        clock.now, state.global_step = now, step
        budget.on_step_end(args, state, control)
        assert control.should_training_stop == (now >= 110.0)
        if step == 2:
            assert budget.stopped_at_step is None
    assert budget.stopped_at_step == 3  # the first step past the budget, not a later one
    budget.on_train_begin(args, state, TrainerControl())  # a new run (a resume) starts a new budget
    assert budget.stopped_at_step is None and budget.started == 111.0


def test_a_run_stops_on_its_time_budget_and_publishes_the_model(base_model_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig(max_steps=50, max_seconds=1e-6, batch_size=2, warmup=0, save_steps=100,
                         gradient_checkpointing=False, device="cpu")
    with torch_threads(1):
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=tmp_path / "work",
                           final_dir=tmp_path / "model", config=config)
    assert result.time_limited and result.steps == 1  # the budget ends during the first step
    assert json.loads((tmp_path / "model" / "train_result.json").read_text())["time_limited"] is True
    assert (tmp_path / "model" / "config.json").is_file()


def test_without_a_budget_the_run_is_not_time_limited(base_model_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig(max_steps=2, batch_size=2, warmup=0, save_steps=100, gradient_checkpointing=False,
                         device="cpu", max_seconds=3600)
    with torch_threads(1):
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=tmp_path / "work",
                           final_dir=tmp_path / "model", config=config)
    assert result.steps == 2 and not result.time_limited


def test_bad_budgets_are_refused() -> None:
    for seconds in (0, -5, float("inf")):
        with pytest.raises(ConfigError) as error:
            TrainConfig(max_seconds=seconds)
        assert error.value.keys == ("max_seconds",)
    with pytest.raises(ValueError, match="a time budget must be > 0 seconds"):
        TimeBudget(0)


def test_the_budget_is_a_train_option_of_prover_train() -> None:
    from prover.cli.main import build_parser
    from prover.expert.cli import expert_config

    args = build_parser().parse_args(["train", "bench.jsonl", "--train-max-seconds", "300"])
    assert expert_config(args).train.max_seconds == 300.0
