"""Training the step prover with TRL: SFT on kept pairs, optional DPO on preference pairs.

SFT rows are tokenised here (``encode_pair``): the prompt ``"{state}:::"`` as ``HFPolicy`` encodes it, the
tactic tokenised on its own, EOS; a ``completion_mask`` makes TRL set the prompt's labels to -100, so the
loss is on the tactic tokens and the EOS only (``completion_only_loss``). TRL's own prompt/completion path
would tokenise ``prompt + tactic`` as one string, where tokens can merge across the boundary. DPO rows are
tokenised the same way (``prover.expert.preference_trainer``): the prompt's ids as the policy's, each tactic
with one EOS; TRL's own DPO tokenisation would move a merged ``:::`` out of the prompt.

Precision: bf16 mixed precision on CUDA (float32 master weights unless ``weight_dtype`` is bfloat16), plain
float32 on CPU. Checkpoints (weights, optimiser, scheduler, RNG) go to ``work_dir/checkpoint-N`` every
``save_steps``; a rerun with the same ``work_dir`` resumes from the last complete one (an incomplete one, from
a kill or a full disk while saving, is set aside: ``prover.expert.checkpoints``), and a failed save is a
``TrainingSaveError`` naming the folder. The final model and tokenizer
are written to ``final_dir`` with ``train_result.json`` and renamed into place only when complete, so an
existing ``final_dir`` means the training finished (a rerun returns its recorded result at once). With
``max_seconds`` a run stops once its training loop has run that long (``time_budget.TimeBudget``) and
publishes the model it has; a resumed run gets the whole budget again.

torch, transformers, datasets and TRL are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.model_loading import load_causal_lm
from prover.expert.checkpoints import (
    checkpoint_state,
    guard_checkpoint_saves,
    last_complete_checkpoint,
    logged_loss,
    save_error,
)
from prover.expert.config import TrainConfig
from prover.expert.perplexity import encode_pair
from search.errors import ModelLoadError

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback

logger = logging.getLogger(__name__)

RESULT_FILE = "train_result.json"


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced. ``train_loss``: mean loss over the run's steps (those after a resume
    only; a rerun that resumed at the last step, having trained none, records the mean its checkpoint's log
    history holds: ``logged_loss``, ``None`` when there is none); ``tokens``: tokens TRL counted in the
    batches (prompt included); ``resumed_from``: the checkpoint a resumed run started from;
    ``time_limited``: the run was stopped by ``TrainConfig.max_seconds``."""

    kind: str  # sft or dpo
    model_dir: str
    init_model: str
    examples: int
    steps: int
    train_loss: float | None
    tokens: int | None
    resumed_from: str | None
    seconds: float
    time_limited: bool = False


def train_device(config: TrainConfig) -> str:
    """``cuda`` or ``cpu`` from the configured device; raises ``ModelLoadError`` for cuda without CUDA."""
    import torch

    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("-", "training device cuda was asked for but CUDA is not available")
    return config.device


def load_for_training(name: str, config: TrainConfig, device: str,
                      ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (in ``weight_dtype``, on ``device``; the trainer switches it to training mode) and tokenizer;
    raises ``ModelLoadError``, also when the tokenizer names no EOS token."""
    with quiet_progress():
        return load_causal_lm(name, device=device, dtype=config.weight_dtype, require_eos=True)


def sft_dataset(pairs: Sequence[dict[str, Any]], tokenizer: PreTrainedTokenizerBase) -> Dataset:
    """Rows TRL takes as they are: ``input_ids`` (prompt, tactic, EOS, as ``encode_pair`` tokenises them)
    and a ``completion_mask`` on the tactic and EOS."""
    from datasets import Dataset

    rows = []
    for pair in pairs:
        encoded = encode_pair(tokenizer, pair["state"], pair["tactic"])
        rows.append({"input_ids": list(encoded.ids),
                     "completion_mask": [0] * encoded.prompt_len + [1] * encoded.completion_len})
    return Dataset.from_list(rows)


def _common_arguments(config: TrainConfig, work_dir: Path, device: str) -> dict[str, Any]:
    """TrainingArguments shared by SFT and DPO."""
    return {
        "output_dir": str(work_dir), "max_steps": config.max_steps or -1,
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation, "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": config.warmup, "weight_decay": config.weight_decay,
        "logging_steps": config.logging_steps, "save_strategy": "steps", "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit, "seed": config.seed, "use_cpu": device == "cpu",
        "bf16": (device == "cuda") if config.bf16 is None else config.bf16,
        _checkpointing_name(): config.gradient_checkpointing, "max_length": config.max_length,
        "report_to": "none", "disable_tqdm": True, "dataloader_pin_memory": device == "cuda",
    }


def _checkpointing_name() -> str:
    """transformers 5 renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (old name warns)."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def build_sft_trainer(pairs: Sequence[dict[str, Any]], *, init_model: str, work_dir: Path,
                      config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """A TRL ``SFTTrainer`` on ``pairs`` (rows with ``state`` and ``tactic``), loss on the tactic and EOS."""
    device = train_device(config)
    model, tokenizer = load_for_training(init_model, config, device)
    return sft_trainer_for(model, tokenizer, pairs, work_dir=work_dir, config=config, callbacks=callbacks)


def sft_trainer_for(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    pairs: Sequence[dict[str, Any]], *, work_dir: Path, config: TrainConfig,
                    callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """The SFT trainer of ``build_sft_trainer`` on a model already in memory (on its training device)."""
    from trl import SFTConfig, SFTTrainer

    device = "cuda" if model.device.type == "cuda" else "cpu"
    args = SFTConfig(**_common_arguments(config, work_dir, device), num_train_epochs=config.epochs,
                     learning_rate=config.learning_rate, completion_only_loss=True)
    with quiet_progress():
        trainer = SFTTrainer(model=model, args=args, train_dataset=sft_dataset(pairs, tokenizer),
                             processing_class=tokenizer, callbacks=[*callbacks, *_time_budget(config)])
    return _log_to_logger(trainer)


def build_dpo_trainer(preferences: Sequence[dict[str, Any]], *, init_model: str, work_dir: Path,
                      config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """A TRL ``DPOTrainer`` on preference rows (pre-tokenised: ``PretokenizedDPOTrainer``), the frozen
    reference being ``init_model`` itself."""
    from trl import DPOConfig

    from prover.expert.preference_trainer import PretokenizedDPOTrainer, preference_rows

    device = train_device(config)
    model, tokenizer = load_for_training(init_model, config, device)
    reference, _ = load_for_training(init_model, config, device)
    args = DPOConfig(**_common_arguments(config, work_dir, device), num_train_epochs=config.dpo_epochs,
                     learning_rate=config.dpo_learning_rate, beta=config.dpo_beta)
    dataset = preference_rows(preferences, tokenizer)
    with quiet_progress():
        trainer = PretokenizedDPOTrainer(model=model, ref_model=reference, args=args, train_dataset=dataset,
                                         processing_class=tokenizer,
                                         callbacks=[*callbacks, *_time_budget(config)])
    return _log_to_logger(trainer)


def _time_budget(config: TrainConfig) -> list[TrainerCallback]:
    """The callback that enforces ``max_seconds``, if it is set."""
    if config.max_seconds is None:
        return []
    from prover.expert.time_budget import TimeBudget

    return [TimeBudget(config.max_seconds)]


def train_sft(pairs: Sequence[dict[str, Any]], *, init_model: str, work_dir: Path, final_dir: Path,
              config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> TrainResult:
    """Fine-tune ``init_model`` on ``pairs``; resumable (see the module docstring). Raises ``ValueError``
    for no pairs, ``ModelLoadError``."""
    if not pairs:
        raise ValueError("no pairs to train on")
    return _run("sft", len(pairs), init_model, work_dir, final_dir, lambda: build_sft_trainer(
        pairs, init_model=init_model, work_dir=work_dir, config=config, callbacks=callbacks))


def train_dpo(preferences: Sequence[dict[str, Any]], *, init_model: str, work_dir: Path, final_dir: Path,
              config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> TrainResult:
    """DPO from ``init_model`` on preference rows; resumable like ``train_sft``."""
    if not preferences:
        raise ValueError("no preference pairs to train on")
    return _run("dpo", len(preferences), init_model, work_dir, final_dir, lambda: build_dpo_trainer(
        preferences, init_model=init_model, work_dir=work_dir, config=config, callbacks=callbacks))


def finished_result(final_dir: Path) -> TrainResult | None:
    """The recorded result of a training whose final model is in place, else ``None``."""
    path = final_dir / RESULT_FILE
    if not path.is_file():
        return None
    return TrainResult(**json.loads(path.read_text(encoding="utf-8")))


def _run(kind: str, examples: int, init_model: str, work_dir: Path, final_dir: Path,
         build: Any) -> TrainResult:
    """Train (resuming from the last complete checkpoint in ``work_dir``) and publish the model at
    ``final_dir``. Raises ``TrainingSaveError`` when a checkpoint or the model cannot be written."""
    from prover.expert.time_budget import TimeBudget

    done = finished_result(final_dir)
    if done is not None:
        logger.info("%s already trained into %s", kind, final_dir)
        return done
    work_dir.mkdir(parents=True, exist_ok=True)
    last = last_complete_checkpoint(work_dir)
    resume = None if last is None else str(last)
    resumed_step = None if last is None else int(checkpoint_state(last)["global_step"])
    started = time.perf_counter()
    trainer = guard_checkpoint_saves(build())
    if resume:
        logger.info("%s: resuming from %s", kind, resume)
    with quiet_progress():
        output = trainer.train(resume_from_checkpoint=resume)
    tokens = next((int(e["num_tokens"]) for e in reversed(trainer.state.log_history) if "num_tokens" in e),
                  None)
    budgets = [c for c in trainer.callback_handler.callbacks if isinstance(c, TimeBudget)]
    steps = int(trainer.state.global_step)
    train_loss: float | None = float(output.training_loss)
    if last is not None and resumed_step is not None and steps <= resumed_step:
        # resumed at the end (a crash while publishing): the 0.0 transformers reports is no training's loss
        train_loss = logged_loss(last)  # no step ran, so no save rotated the checkpoint away
        logger.info("%s: %s was the last step; its logged loss is the run's (%s)", kind, last, train_loss)
    result = TrainResult(kind=kind, model_dir=str(final_dir), init_model=init_model, examples=examples,
                         steps=steps, train_loss=train_loss, tokens=tokens, resumed_from=resume,
                         seconds=round(time.perf_counter() - started, 3),
                         time_limited=any(b.stopped_at_step is not None for b in budgets))
    _publish(trainer, final_dir, result)
    del trainer
    free_accelerator_memory()
    return result


def _publish(trainer: Trainer, final_dir: Path, result: TrainResult) -> None:
    """Save model, tokenizer and result to a side folder, then rename it to ``final_dir``; a failed write
    is a ``TrainingSaveError`` naming the side folder."""
    from safetensors import SafetensorError

    partial = final_dir.with_name(final_dir.name + ".partial")
    tokenizer = trainer.processing_class
    assert tokenizer is not None, "the trainers are built with the tokenizer as processing_class"
    try:
        if partial.exists():
            shutil.rmtree(partial)
        with quiet_progress():
            trainer.save_model(str(partial))
            tokenizer.save_pretrained(str(partial))
        (partial / RESULT_FILE).write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
        os.replace(partial, final_dir)
    except (OSError, SafetensorError) as exc:
        raise save_error(partial, exc) from exc
    logger.info("%s model written to %s (loss %.4f, %d steps)", result.kind, final_dir,
                result.train_loss or float("nan"), result.steps)


def free_accelerator_memory() -> None:
    """Return freed CUDA memory to the device once a trainer is gone, for the next stage (a sweep)."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _log_to_logger(trainer: Trainer) -> Trainer:
    """Send the trainer's periodic logs (loss, learning rate ...) to this module's logger, not stdout."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class LogCallback(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            logger.info("step %d: %s", state.global_step, logs)

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(LogCallback())
    return trainer


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """No progress bars from ``datasets`` (data preparation) or transformers (loading, saving) in the block;
    their previous settings are restored afterwards."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets_off, hf_on = datasets.are_progress_bars_disabled(), hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not datasets_off:
            datasets.enable_progress_bars()
        if hf_on:
            hf_logging.enable_progress_bar()
