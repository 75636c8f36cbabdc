"""Named shapes of the small step-prover model (``prover.expert.small_model``) with the training recipe
each needs when trained from nothing for a fixed time: a high, constant learning rate after a short
warm-up (a run cut by time never reaches the end of a decaying schedule), the batch size that fits the
machine, sequences of at most 512 tokens, no activation checkpointing (these models are small).

- ``tiny``: 2 layers, hidden 64, vocabulary 2048: for a loaded CPU;
- ``cpu``: 2 layers, hidden 128, vocabulary 4096;
- ``gpu``: 8 layers, hidden 512, vocabulary 8192: for a lent GPU's minutes.

``preset_train_config`` applies a preset's recipe to the training settings the user left at their
defaults. Torch-free.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from prover.expert.config import TrainConfig
from prover.expert.small_model import SmallModelConfig

DEFAULT_TRAIN_SECONDS = 300.0  # a tactic model's training run when --train-max-seconds is not given
PRESET_MAX_LENGTH = 512


@dataclass(frozen=True)
class SmallModelPreset:
    """A model shape and the training recipe it is trained from scratch with."""

    shape: SmallModelConfig
    batch_size: int
    learning_rate: float
    warmup: int  # optimiser steps

    def recipe(self) -> dict[str, object]:
        """The ``TrainConfig`` fields this preset sets."""
        return {"learning_rate": self.learning_rate, "lr_scheduler": "constant_with_warmup",
                "warmup": float(self.warmup), "batch_size": self.batch_size, "max_length": PRESET_MAX_LENGTH,
                "gradient_checkpointing": False}


PRESETS: dict[str, SmallModelPreset] = {
    "tiny": SmallModelPreset(SmallModelConfig(vocab_size=2048, hidden_size=64, layers=2, heads=4, kv_heads=2,
                                              intermediate_size=256, context=1024),
                             batch_size=8, learning_rate=3e-3, warmup=10),
    "cpu": SmallModelPreset(SmallModelConfig(vocab_size=4096, hidden_size=128, layers=2, heads=4, kv_heads=2,
                                             intermediate_size=512, context=1024),
                            batch_size=16, learning_rate=2e-3, warmup=10),
    "gpu": SmallModelPreset(SmallModelConfig(vocab_size=8192, hidden_size=512, layers=8, heads=8, kv_heads=4,
                                             intermediate_size=1536, context=2048),
                            batch_size=64, learning_rate=5e-4, warmup=100),
}


def preset_train_config(preset: SmallModelPreset | None, train: TrainConfig) -> TrainConfig:
    """``train`` with the preset's recipe in every field it sets that still holds ``TrainConfig``'s
    default (a field the user set keeps their value, and so does every field with no preset), and
    ``max_seconds`` ``DEFAULT_TRAIN_SECONDS`` when unset: a tactic model's training is a fixed-time run."""
    defaults = TrainConfig()
    changes: dict[str, Any] = {}
    if preset is not None:
        changes = {name: value for name, value in preset.recipe().items()
                   if getattr(train, name) == getattr(defaults, name)}
    if train.max_seconds is None:
        changes["max_seconds"] = DEFAULT_TRAIN_SECONDS
    return dataclasses.replace(train, **changes)
