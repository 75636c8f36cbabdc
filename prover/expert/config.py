"""Settings of expert iteration: the loop, the tactic-level filter and the trainer (torch-free, so the CLI
builds its options from them before any model library loads)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEVICES = ("auto", "cpu", "cuda")
WEIGHT_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True, kw_only=True)
class FilterConfig:
    """Validated settings of the adaptive tactic-level filter (see ``prover.expert.filtering``).

    Each pair is scored by its log-perplexity x (mean negative log-likelihood of the tactic tokens and the
    EOS, nats per token) under the current model. A pair is *too easy* when x is below the easy cut and
    *too noisy* when x is above the noisy cut; both cuts are recomputed every round from that round's scores:

    - easy cut = ln(easy_perplexity), clipped into [Q(easy_quantile_min), Q(easy_quantile_max)];
    - noisy cut = median + noisy_mads * 1.4826 * MAD, clipped into
      [Q(1 - noisy_quantile_max), Q(1 - noisy_quantile_min)];

    where Q is the round's empirical quantile (linear interpolation). So at least ``easy_quantile_min`` and at
    most ``easy_quantile_max`` of the pairs are dropped as easy, and likewise for noisy; in between, the
    fraction follows how much the model already knows and how wide the round's distribution is.
    """

    enabled: bool = field(default=True, metadata={"help": "filter the pairs; off keeps every pair"})
    easy_perplexity: float = field(
        default=1.05,
        metadata={"help": "a tactic whose perplexity is below this is one the model already knows (> 1)"},
    )
    easy_quantile_min: float = field(
        default=0.05, metadata={"help": "least fraction of a round's pairs dropped as too easy, in [0, 1)"}
    )
    easy_quantile_max: float = field(
        default=0.4, metadata={"help": "most fraction of a round's pairs dropped as too easy, in [0, 1)"}
    )
    noisy_mads: float = field(
        default=3.0,
        metadata={"help": "a pair is noise when its log-perplexity is this many robust standard deviations "
                          "(1.4826 * MAD) above the round's median (> 0)"},
    )
    noisy_quantile_min: float = field(
        default=0.02, metadata={"help": "least fraction of a round's pairs dropped as too noisy, in [0, 1)"}
    )
    noisy_quantile_max: float = field(
        default=0.15, metadata={"help": "most fraction of a round's pairs dropped as too noisy, in [0, 1)"}
    )
    min_pairs: int = field(
        default=20,
        metadata={"help": "a round with fewer scored pairs keeps them all (its quantiles mean little)"},
    )
    max_length: int = field(
        default=2048,
        metadata={"help": "pairs longer than this many tokens (prompt + tactic + EOS) are dropped"},
    )
    batch_size: int = field(default=16, metadata={"help": "pairs per forward pass when scoring"})
    device: str = field(
        default="auto", metadata={"help": "scoring device: auto (cuda if present), cpu or cuda"}
    )

    def __post_init__(self) -> None:
        problems = []
        if not (math.isfinite(self.easy_perplexity) and self.easy_perplexity > 1):
            problems.append(f"easy_perplexity must be a finite number > 1, got {self.easy_perplexity}")
        for side in ("easy", "noisy"):
            low, high = getattr(self, f"{side}_quantile_min"), getattr(self, f"{side}_quantile_max")
            if not 0 <= low <= high < 1:
                problems.append(f"need 0 <= {side}_quantile_min <= {side}_quantile_max < 1, "
                                f"got {low}, {high}")
        if self.easy_quantile_max + self.noisy_quantile_max >= 1:
            problems.append("easy_quantile_max + noisy_quantile_max must be < 1 so that pairs are kept")
        if not (math.isfinite(self.noisy_mads) and self.noisy_mads > 0):
            problems.append(f"noisy_mads must be a finite number > 0, got {self.noisy_mads}")
        if self.min_pairs < 1:
            problems.append(f"min_pairs must be >= 1, got {self.min_pairs}")
        if self.max_length < 2:
            problems.append(f"max_length must be >= 2, got {self.max_length}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if problems:
            raise ValueError("invalid filter configuration: " + "; ".join(problems))


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Validated settings of supervised fine-tuning (and optional DPO) with TRL."""

    epochs: float = field(default=1.0, metadata={"help": "passes over the round's training pairs"})
    max_steps: int | None = field(
        default=None, metadata={"help": "stop after this many optimiser steps (overrides epochs)"}
    )
    learning_rate: float = field(default=2e-5, metadata={"help": "peak AdamW learning rate of SFT"})
    lr_scheduler: str = field(default="cosine", metadata={"help": "transformers scheduler name"})
    warmup: float = field(
        default=0.03, metadata={"help": "warm-up: a fraction of the steps if < 1, else a step count"}
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    batch_size: int = field(default=8, metadata={"help": "sequences per device per micro-batch"})
    gradient_accumulation: int = field(default=1, metadata={"help": "micro-batches per optimiser step"})
    max_length: int = field(
        default=2048, metadata={"help": "longest training sequence in tokens (prompt + tactic + EOS)"}
    )
    gradient_checkpointing: bool = field(
        default=True, metadata={"help": "recompute activations in the backward pass to save memory"}
    )
    device: str = field(default="auto", metadata={"help": "auto (cuda if present), cpu or cuda"})
    bf16: bool | None = field(
        default=None, metadata={"help": "bf16 mixed precision (default: on with CUDA, off on CPU)"}
    )
    weight_dtype: str = field(
        default="float32",
        metadata={"help": "dtype the weights are loaded in: float32 (master weights for bf16 mixed "
                          "precision) or bfloat16 (pure bf16, half the memory, for large models)"},
    )
    save_steps: int = field(default=200, metadata={"help": "optimiser steps between resumable checkpoints"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept per training run"})
    logging_steps: int = field(default=10, metadata={"help": "optimiser steps between logged losses"})
    seed: int = field(default=0, metadata={"help": "seed of data order and initialisation"})
    dpo: bool = field(
        default=False, metadata={"help": "after SFT, run DPO on the preference pairs (proof tactic vs a "
                                         "sibling the proof assistant rejected)"}
    )
    dpo_beta: float = field(default=0.1, metadata={"help": "DPO's beta (KL strength, > 0)"})
    dpo_learning_rate: float = field(default=5e-7, metadata={"help": "peak learning rate of DPO"})
    dpo_epochs: float = field(default=1.0, metadata={"help": "passes over the preference pairs"})

    def __post_init__(self) -> None:
        problems = []
        positive = {"epochs": self.epochs, "learning_rate": self.learning_rate, "dpo_beta": self.dpo_beta,
                    "dpo_learning_rate": self.dpo_learning_rate, "dpo_epochs": self.dpo_epochs}
        problems += [f"{name} must be a finite number > 0, got {value}" for name, value in positive.items()
                     if not (math.isfinite(value) and value > 0)]
        at_least_one = {"batch_size": self.batch_size, "gradient_accumulation": self.gradient_accumulation,
                        "save_steps": self.save_steps, "save_total_limit": self.save_total_limit,
                        "logging_steps": self.logging_steps}
        problems += [f"{name} must be >= 1, got {value}" for name, value in at_least_one.items() if value < 1]
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be >= 1, got {self.max_steps}")
        if self.max_length < 2:
            problems.append(f"max_length must be >= 2, got {self.max_length}")
        if not (self.warmup >= 0 and math.isfinite(self.warmup)):
            problems.append(f"warmup must be >= 0, got {self.warmup}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.weight_dtype not in WEIGHT_DTYPES:
            problems.append(f"weight_dtype must be one of {', '.join(WEIGHT_DTYPES)}, "
                            f"got {self.weight_dtype!r}")
        if self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))


@dataclass(frozen=True, kw_only=True)
class ExpertConfig:
    """Validated settings of the expert-iteration loop: rounds of sweep -> collect -> filter -> train."""

    rounds: int = field(
        default=2, metadata={"help": "rounds to have finished; a rerun skips finished stages and continues"}
    )
    out: str = field(default="runs/expert", metadata={"help": "run folder (one sub-folder per round)"})
    base_model: str | None = field(
        default=None,
        metadata={"help": "model trained in round 1 and restarted from when retraining from base "
                          "(default: --model)"},
    )
    retrain_every: int = field(
        default=0,
        metadata={"help": "every K-th round retrains from the base model on all curated pairs so far; "
                          "other rounds continue from the last model on the round's new pairs; 0: never"},
    )
    evaluate_final: bool = field(
        default=True,
        metadata={"help": "after the last round, sweep once more with the final model (it becomes the "
                          "next round's sweep if the run is continued)"},
    )
    filter: FilterConfig = field(default_factory=FilterConfig, metadata={"help": "tactic-level filter"})
    train: TrainConfig = field(default_factory=TrainConfig, metadata={"help": "trainer settings"})

    def __post_init__(self) -> None:
        problems = []
        if self.rounds < 1:
            problems.append(f"rounds must be >= 1, got {self.rounds}")
        if self.retrain_every < 0:
            problems.append(f"retrain_every must be >= 0, got {self.retrain_every}")
        if not self.out.strip():
            problems.append("out must name a folder")
        if self.base_model is not None and not self.base_model.strip():
            problems.append("base_model must be a non-empty path or hub id")
        if problems:
            raise ValueError("invalid expert-iteration configuration: " + "; ".join(problems))
