"""A partly written checkpoint does not block a training for good, and a failed save says where it failed."""

from __future__ import annotations

import errno
import json
import pickle
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from expert_fixtures import TRAIN_CONFIG, TRAIN_PAIRS, Interrupted, torch_threads
from safetensors.torch import save_file

from prover.expert import TrainConfig, train_sft
from prover.expert.checkpoints import TrainingSaveError, checkpoint_problem, last_complete_checkpoint

PAIRS = TRAIN_PAIRS[:2]
CONFIG = replace(TRAIN_CONFIG, batch_size=2)


def fake_checkpoint(folder: Path, step: int) -> Path:
    """A checkpoint with the files a resume reads, written as transformers writes them."""
    folder.mkdir(parents=True)
    save_file({"w": torch.zeros(64)}, str(folder / "model.safetensors"))
    torch.save({"state": {}, "param_groups": []}, folder / "optimizer.pt")
    torch.save({"last_epoch": step}, folder / "scheduler.pt")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    return folder


def truncate(path: Path, keep: int = 40) -> None:
    path.write_bytes(path.read_bytes()[:keep])


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "no state": (lambda f: (f / "trainer_state.json").unlink(), "no trainer_state.json"),
    "torn state": (lambda f: truncate(f / "trainer_state.json", 5), "trainer_state.json does not parse"),
    "torn weights": (lambda f: truncate(f / "model.safetensors"), "model.safetensors does not open"),
    "no weights": (lambda f: (f / "model.safetensors").unlink(), "no model weights"),
    "torn optimizer": (lambda f: truncate(f / "optimizer.pt"), "optimizer.pt is truncated"),
    "no scheduler": (lambda f: (f / "scheduler.pt").unlink(), "no scheduler.pt"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_each_kind_of_partial_checkpoint_is_found(tmp_path: Path, damage: str) -> None:
    folder = fake_checkpoint(tmp_path / "checkpoint-2", 2)
    assert checkpoint_problem(folder) is None
    spoil, problem = DAMAGES[damage]
    spoil(folder)
    assert (checkpoint_problem(folder) or "").startswith(problem)


def test_the_newest_complete_checkpoint_is_chosen_and_incomplete_ones_set_aside(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from transformers.trainer_utils import sort_checkpoints

    for step in (2, 4, 6, 10):
        fake_checkpoint(tmp_path / f"checkpoint-{step}", step)
    (tmp_path / "checkpoint-10" / "trainer_state.json").unlink()
    truncate(tmp_path / "checkpoint-6" / "model.safetensors")
    (tmp_path / "incomplete-checkpoint-6").mkdir()  # set aside by an earlier rerun: its name is taken
    with caplog.at_level("WARNING"):
        assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
    assert (tmp_path / "incomplete-checkpoint-10").is_dir()
    assert (tmp_path / "incomplete-checkpoint-6.2").is_dir()
    assert str(tmp_path / "checkpoint-10") in caplog.text and "incomplete-checkpoint-10" in caplog.text
    # the Trainer's rotation (save_total_limit) sees the complete checkpoints only
    assert sort_checkpoints(str(tmp_path)) == [str(tmp_path / "checkpoint-2"), str(tmp_path / "checkpoint-4")]
    assert last_complete_checkpoint(tmp_path / "missing") is None


def interrupt_after_saving(step: int):
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise Interrupted

    return Stop()


def test_an_incomplete_newest_checkpoint_is_skipped_and_training_resumes_before_it(
        base_model_dir: Path, tmp_path: Path) -> None:
    work, final = tmp_path / "work", tmp_path / "model"
    with torch_threads(1):
        with pytest.raises(Interrupted):
            train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final, config=CONFIG,
                      callbacks=[interrupt_after_saving(4)])
        (work / "checkpoint-4" / "trainer_state.json").unlink()  # killed before the state was written
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final,
                           config=CONFIG)
    assert result.resumed_from == str(work / "checkpoint-2") and result.steps == 4
    assert (work / "incomplete-checkpoint-4").is_dir() and (final / "model.safetensors").is_file()


def test_with_only_incomplete_checkpoints_training_starts_afresh(base_model_dir: Path,
                                                                 tmp_path: Path) -> None:
    work, final = tmp_path / "work", tmp_path / "model"
    with torch_threads(1):
        with pytest.raises(Interrupted):
            train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final, config=CONFIG,
                      callbacks=[interrupt_after_saving(2)])
        truncate(work / "checkpoint-2" / "model.safetensors")  # the disk filled while writing the weights
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final,
                           config=CONFIG)
    assert result.resumed_from is None and result.steps == 4
    assert (work / "incomplete-checkpoint-2").is_dir()


def test_a_full_disk_while_saving_names_the_checkpoint_and_a_rerun_recovers(
        base_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, final = tmp_path / "work", tmp_path / "model"
    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(f))

    monkeypatch.setattr(torch, "save", full_disk)  # a checkpoint's first torch.save: training_args.bin
    with torch_threads(1), pytest.raises(TrainingSaveError) as info:
        train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final, config=CONFIG)
    error = info.value
    assert error.folder == work / "checkpoint-2" and isinstance(error, OSError)
    assert "no space left on device" in str(error) and str(work / "checkpoint-2") in str(error)
    assert (error.filename, error.strerror) == (str(work / "checkpoint-2"), error.reason)
    copy = pickle.loads(pickle.dumps(error))  # it may cross a process boundary like every project error
    assert type(copy) is TrainingSaveError and str(copy) == str(error) and copy.folder == error.folder
    monkeypatch.setattr(torch, "save", real_save)
    with torch_threads(1):
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final,
                           config=CONFIG)
    assert result.resumed_from is None and result.steps == 4
    assert (work / "incomplete-checkpoint-2").is_dir()


def test_a_failed_write_of_the_final_model_names_its_folder(base_model_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors import SafetensorError
    from transformers import Trainer

    def broken(self, output_dir=None, _internal_call=False):
        if not _internal_call:  # the final model, not a checkpoint
            raise SafetensorError("Error while serializing: IoError(No space left on device)")
        return real(self, output_dir, _internal_call)

    real = Trainer.save_model
    monkeypatch.setattr(Trainer, "save_model", broken)
    config = TrainConfig(max_steps=1, batch_size=2, save_steps=10, device="cpu", gradient_checkpointing=False)
    with torch_threads(1), pytest.raises(TrainingSaveError) as info:
        train_sft(PAIRS, init_model=str(base_model_dir), work_dir=tmp_path / "work",
                  final_dir=tmp_path / "model", config=config)
    assert info.value.folder == tmp_path / "model.partial" and "SafetensorError" in info.value.reason
    assert not (tmp_path / "model").exists()
