"""Settings of expert iteration: the loop, the tactic-level filter and the trainer (torch-free, so the CLI
builds its options from them before any model library loads)."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.validation import MAX_SECONDS, Validated, setting

DEVICES = ("auto", "cpu", "cuda")
WEIGHT_DTYPES = ("float32", "bfloat16")
# transformers' ``SchedulerType`` values that train with these settings alone: the others need
# ``lr_scheduler_kwargs`` (cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay) or an
# evaluation strategy (reduce_lr_on_plateau, greedy), which this trainer has not. Listed here, not imported:
# the settings load no model library (a test checks the names against transformers')
LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                 "inverse_sqrt")


@dataclass(frozen=True, kw_only=True)
class FilterConfig(Validated):
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

    config_name = "filter configuration"

    enabled: bool = setting(
        True, help="drop the too-easy and too-noisy pairs; off keeps every pair that fits max_length (longer "
                   "ones are still dropped as too_long: training would cut them before their EOS)")
    easy_perplexity: float = setting(
        1.05, above=1,
        help="a tactic whose perplexity is below this is one the model already knows (> 1)")
    easy_quantile_min: float = setting(
        0.05, min=0, below=1, help="least fraction of a round's pairs dropped as too easy, in [0, 1)")
    easy_quantile_max: float = setting(
        0.4, min=0, below=1, help="most fraction of a round's pairs dropped as too easy, in [0, 1)")
    noisy_mads: float = setting(
        3.0, above=0,
        help="a pair is noise when its log-perplexity is this many robust standard deviations (1.4826 * MAD) "
             "above the round's median (> 0)")
    noisy_quantile_min: float = setting(
        0.02, min=0, below=1, help="least fraction of a round's pairs dropped as too noisy, in [0, 1)")
    noisy_quantile_max: float = setting(
        0.15, min=0, below=1, help="most fraction of a round's pairs dropped as too noisy, in [0, 1)")
    min_pairs: int = setting(
        20, min=1, help="a round with fewer scored pairs keeps them all (its quantiles mean little)")
    max_length: int = setting(
        2048, min=2, help="pairs longer than this many tokens (prompt + tactic + EOS) are dropped")
    batch_size: int = setting(16, min=1, help="pairs per forward pass when scoring")
    device: str = setting(
        "auto", choices=DEVICES, help="scoring device: auto (cuda if present), cpu or cuda")

    def cross_checks(self) -> list[str]:
        problems = []
        for side in ("easy", "noisy"):
            low, high = getattr(self, f"{side}_quantile_min"), getattr(self, f"{side}_quantile_max")
            if low > high:
                problems.append(f"need {side}_quantile_min <= {side}_quantile_max, got {low}, {high}")
        if self.easy_quantile_max + self.noisy_quantile_max >= 1:
            problems.append("easy_quantile_max + noisy_quantile_max must be < 1 so that pairs are kept")
        return problems


@dataclass(frozen=True, kw_only=True)
class TrainConfig(Validated):
    """Validated settings of supervised fine-tuning (and optional DPO) with TRL."""

    config_name = "training configuration"

    epochs: float = setting(1.0, above=0, help="passes over the round's training pairs")
    max_steps: int | None = setting(
        None, min=1, help="stop after this many optimiser steps (overrides epochs)")
    max_seconds: float | None = setting(
        None, above=0,
        max=MAX_SECONDS,
        help="wall-clock budget of each training run in seconds: training stops after the first optimiser "
             "step that ends past it and the model so far is the result (the learning-rate schedule still "
             "follows epochs or max_steps)")
    learning_rate: float = setting(2e-5, above=0, help="peak AdamW learning rate of SFT")
    lr_scheduler: str = setting(
        "cosine", choices=LR_SCHEDULERS,
        help=f"learning-rate schedule (transformers' SchedulerType): {', '.join(LR_SCHEDULERS)}")
    warmup: float = setting(
        0.03, min=0, help="warm-up: a fraction of the steps if < 1, else a step count")
    weight_decay: float = setting(0.0, min=0, help="AdamW weight decay")
    batch_size: int = setting(8, min=1, help="sequences per device per micro-batch")
    gradient_accumulation: int = setting(1, min=1, help="micro-batches per optimiser step")
    max_length: int = setting(
        2048, min=2, help="longest training sequence in tokens (prompt + tactic + EOS)")
    gradient_checkpointing: bool = setting(
        True, help="recompute activations in the backward pass to save memory")
    device: str = setting("auto", choices=DEVICES, help="auto (cuda if present), cpu or cuda")
    bf16: bool | None = setting(None, help="bf16 mixed precision (default: on with CUDA, off on CPU)")
    weight_dtype: str = setting(
        "float32", choices=WEIGHT_DTYPES,
        help="dtype the weights are loaded in: float32 (master weights for bf16 mixed precision) or "
             "bfloat16 (pure bf16, half the memory, for large models)")
    save_steps: int = setting(200, min=1, help="optimiser steps between resumable checkpoints")
    save_total_limit: int = setting(2, min=1, help="checkpoints kept per training run")
    logging_steps: int = setting(10, min=1, help="optimiser steps between logged losses")
    seed: int = setting(0, min=0, help="seed of data order and initialisation")
    dpo: bool = setting(
        False, help="after SFT, run DPO on the preference pairs (proof tactic vs a sibling the proof "
                    "assistant rejected)")
    dpo_beta: float = setting(0.1, above=0, help="DPO's beta (KL strength, > 0)")
    dpo_learning_rate: float = setting(5e-7, above=0, help="peak learning rate of DPO")
    dpo_epochs: float = setting(1.0, above=0, help="passes over the preference pairs")


@dataclass(frozen=True, kw_only=True)
class ExpertConfig(Validated):
    """Validated settings of the expert-iteration loop: rounds of sweep -> collect -> filter -> train."""

    config_name = "expert-iteration configuration"

    rounds: int = setting(
        2, min=1, help="rounds to have finished; a rerun skips finished stages and continues")
    out: str = setting("runs/expert", nonblank=True, help="run folder (one sub-folder per round)")
    base_model: str | None = setting(
        None, nonblank=True,
        help="model trained in round 1 and restarted from when retraining from base (default: --model)")
    retrain_every: int = setting(
        0, min=0, help="every K-th round retrains from the base model on all curated pairs so far; other "
                       "rounds continue from the last model on the round's new pairs; 0: never")
    evaluate_final: bool = setting(
        True, help="after the last round, sweep once more with the final model (it becomes the next round's "
                   "sweep if the run is continued)")
    minimise_proofs: bool = setting(
        False, help="make the proofs a round found 1-minimal before they become data: single steps left out "
                    "while the rest still closes the proof, the shorter proof kept once verified "
                    "(prover.expert.minimised_records), so detours (a `rewrite` a later `lra` did not need) "
                    "do not join the corpus")
    filter: FilterConfig = field(default_factory=FilterConfig, metadata={"help": "tactic-level filter"})
    train: TrainConfig = field(default_factory=TrainConfig, metadata={"help": "trainer settings"})
