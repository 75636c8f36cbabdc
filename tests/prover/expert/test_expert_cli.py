"""``prover train``: options generated from the configs, and the handler's wiring of the loop."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.console import Console

import prover.expert.loop as loop
from prover.cli.main import build_parser
from prover.expert import ExpertReport, RoundMetrics, TrainConfig
from prover.expert.cli import add_train_command, expert_config, run_train_command
from prover.theorem_input import InputError


def train_parser() -> argparse.ArgumentParser:
    """``prover``'s own parser with ``train`` added, so option clashes with it would show here."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "train" not in commands.choices:
        add_train_command(commands)
    return parser


ARGS = ["train", "bench.jsonl", "--rounds", "3", "--out", "runs/x", "--retrain-every", "2",
        "--filter-easy-perplexity", "1.1", "--filter-min-pairs", "7", "--train-learning-rate", "1e-4",
        "--train-dpo", "--train-max-steps", "5", "--workers", "3", "--backend", "coq", "--policy", "tactics",
        "--tactics", "auto,lia", "--model", "/models/base", "--model-temperature", "1.0"]


def test_options_come_from_the_configs() -> None:
    args = train_parser().parse_args(ARGS)
    config = expert_config(args)
    assert (config.rounds, config.out, config.retrain_every, config.base_model) == (3, "runs/x", 2, None)
    assert config.filter.easy_perplexity == 1.1 and config.filter.min_pairs == 7
    assert config.train.learning_rate == 1e-4 and config.train.dpo and config.train.max_steps == 5
    assert config.evaluate_final  # default
    assert train_parser().parse_args(["train", "b"]).handler is run_train_command


def test_help_lists_the_generated_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        train_parser().parse_args(["train", "--help-all"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--rounds", "--retrain-every", "--base-model", "--filter-easy-quantile-max",
                   "--train-dpo", "--train-weight-dtype", "--workers", "--max-expansions", "--model"):
        assert option in text


def test_invalid_settings_are_input_errors() -> None:
    with pytest.raises(InputError, match="rounds must be >= 1"):
        expert_config(train_parser().parse_args(["train", "b", "--rounds", "0"]))
    with pytest.raises(InputError, match="invalid filter configuration"):
        expert_config(train_parser().parse_args(["train", "b", "--filter-easy-quantile-max", "0.9"]))


def test_every_problem_of_every_table_is_reported_at_once(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.main import main

    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--base-model", str(tmp_path),
            "--out", str(tmp_path / "run"), "--filter-easy-quantile-min", "0.9", "--filter-easy-quantile-max",
            "0.1", "--filter-noisy-mads", "-1", "--max-expansions", "0", "--rounds", "0"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    for problem in ("filter: need easy_quantile_min <= easy_quantile_max, got 0.9, 0.1",
                    "filter.noisy_mads (--filter-noisy-mads) must be > 0",
                    "search.max_expansions (--max-expansions) must be >= 1",
                    "expert.rounds (--rounds) must be >= 1"):
        assert problem in err, err


def test_the_handler_runs_the_loop_with_the_parsed_run(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    seen = {}

    def fake_loop(config, run, *, console=None):
        seen["config"], seen["run"] = config, run
        return ExpertReport(rounds=[RoundMetrics(round=1, proved=2, theorems=3, pairs=4, kept=3,
                                                 train_mode="continue", train_loss=0.5)],
                            paths={"markdown": tmp_path / "report.md"})

    monkeypatch.setattr(loop, "run_expert_iteration", fake_loop)
    monkeypatch.chdir(tmp_path)  # bench.jsonl and runs/x are relative: the run folder records its settings
    (tmp_path / "bench.jsonl").write_text('{"name": "t", "statement": "Theorem t : True."}\n')
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")  # a model folder, as far as the handler checks
    args = [*ARGS[:-3], str(tmp_path / "base"), *ARGS[-2:]]
    assert run_train_command(train_parser().parse_args(args), console) == 0
    run = seen["run"]
    assert run.benchmark == "bench.jsonl" and run.spec.backend.name == "coq"
    assert run.spec.policy.kind == "tactics" and run.spec.policy.tactics == ("auto", "lia")
    assert run.spec.search.tactics_per_node == 2  # the whole tactic list in round 1
    assert run.model_search is not None and run.model_search.tactics_per_node == 4  # a model's width later
    assert run.model_policy.model == str(tmp_path / "base") and run.model_policy.temperature == 1.0
    assert run.sweep.workers == 3
    assert loop.base_model(seen["config"], run) == str(tmp_path / "base")
    console.file.close()
    assert "continue" in (tmp_path / "out.txt").read_text()


def test_a_missing_base_model_fails_before_round_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from prover.policies.hf_policy_config import ModelLoadError

    monkeypatch.setattr(loop, "run_expert_iteration", lambda *a, **k: pytest.fail("the loop must not start"))
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115
    with pytest.raises(ModelLoadError, match=r"/models/base.*no such directory"):
        run_train_command(train_parser().parse_args(ARGS), console)


def test_a_local_base_model_folder_that_holds_no_model_fails_before_round_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not a model folder (no config.json): a clear error naming the folder and the option at once, not a
    tokenizer-conversion message after the whole round-1 sweep."""
    monkeypatch.setattr(loop, "run_expert_iteration", lambda *a, **k: pytest.fail("the loop must not start"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115
    by_model = [*ARGS[:-3], str(tmp_path / "notes"), *ARGS[-2:]]
    with pytest.raises(InputError, match=rf"--model {tmp_path / 'notes'}: the folder holds no config\.json"):
        run_train_command(train_parser().parse_args(by_model), console)
    with pytest.raises(InputError, match=r"--base-model .*notes: the folder holds no config\.json"):
        run_train_command(train_parser().parse_args([*ARGS, "--base-model", "notes"]), console)
    assert not (tmp_path / "runs").exists()
    console.file.close()


def test_a_mistyped_learning_rate_schedule_is_refused_at_once_naming_the_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not after round 1's sweep and filter, when the trainer is built: the settings check it."""
    from transformers.trainer_utils import SchedulerType

    from prover.cli.main import main
    from prover.expert.config import LR_SCHEDULERS
    from prover.expert.small_model_presets import PRESETS, preset_train_config

    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--base-model", str(tmp_path),
            "--out", str(tmp_path / "run"), "--train-lr-scheduler", "cosin"]
    assert main([*argv, "--print-config"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "train.lr_scheduler (--train-lr-scheduler) must be one of linear, cosine" in err
    assert "got 'cosin'" in err
    assert main(argv) == 2 and not (tmp_path / "run").exists()
    assert set(LR_SCHEDULERS) <= {s.value for s in SchedulerType}  # transformers' names
    assert TrainConfig().lr_scheduler in LR_SCHEDULERS
    assert all(preset_train_config(p, TrainConfig()).lr_scheduler in LR_SCHEDULERS for p in PRESETS.values())


def test_the_filter_switch_says_that_too_long_pairs_are_dropped_either_way() -> None:
    from dataclasses import fields

    from prover.expert import FilterConfig

    help_text = next(f.metadata["help"] for f in fields(FilterConfig) if f.name == "enabled")
    assert "still dropped" in help_text and "max_length" in help_text
