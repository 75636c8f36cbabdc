"""``prover train --policy retrieval`` at the command line, without running a round: its configuration as
a file (the ``retrieval_loop`` table) and back, and its settings' errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.cli.main import main
from prover.tracing.dataset import Dataset


def argv(tmp_path: Path, *more: str) -> list[str]:
    Dataset(tmp_path / "ds")  # an empty dataset: enough for the options
    return ["train", "coq_basic", "--backend", "coq", "--policy", "retrieval", "--retrieval-corpus",
            str(tmp_path / "ds"), "--out", str(tmp_path / "run"), *more]


def test_the_configuration_round_trips_through_a_file(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv(tmp_path, "--heldout-percent", "30", "--stdlib-test-files", "4", "--no-drop-trivial",
                     "--rounds", "3", "--print-config")) == 0
    text = capsys.readouterr().out
    assert "[retrieval_loop]" in text and "heldout_percent = 30" in text and "drop_trivial = false" in text
    assert "[model]" not in text and "[train]" not in text  # no model is trained
    config = tmp_path / "run.toml"
    config.write_text(text)
    assert main(["train", "coq_basic", "--config", str(config), "--print-config"]) == 0
    assert capsys.readouterr().out == text


def test_invalid_loop_settings_are_reported_with_the_others(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = ("--heldout-percent", "95", "--stdlib-test-per-file", "0", "--rounds", "0")
    assert main(argv(tmp_path, *bad)) == 2
    err = " ".join(capsys.readouterr().err.split())
    for problem in ("retrieval_loop.heldout_percent (--heldout-percent) must be in [0, 90], got 95",
                    "retrieval_loop.stdlib_test_per_file (--stdlib-test-per-file) must be >= 1, got 0",
                    "rounds (--rounds) must be >= 1, got 0"):
        assert problem in err
    assert not (tmp_path / "run").exists()


def test_a_coq_model_loop_without_a_model_is_refused_before_any_round(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default step-prover model is a Lean one: a Coq run that would retrain it is refused at once."""
    out = tmp_path / "run"
    assert main(["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--rounds", "1",
                 "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is a Lean model" in err and "--base-model" in err and "--policy retrieval" in err
    assert not (out / "round-01").exists()


def test_a_training_run_never_writes_into_a_folder_of_other_files(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "sweep.json").write_text("{}")  # a sweep's folder is not a training run's either
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")  # a model folder, as far as the command checks
    assert main(["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--base-model",
                 str(tmp_path / "base"), "--out", str(out)]) == 2
    assert "holds other files (notes.txt, sweep.json) and no expert-iteration run" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "sweep.json"]


def test_the_retrieval_loop_s_options_are_refused_by_the_model_loop(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ignored, they would leave held-out theorems searched and trained on."""
    code = main(["train", "coq_basic", "--backend", "coq", "--base-model", str(tmp_path), "--out",
                 str(tmp_path / "run"), "--heldout-percent", "90", "--tactic-model", "tiny"])
    assert code == 2
    assert "--heldout-percent, --tactic-model: options of the retrieval loop" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
