"""Expert iteration: turn the proofs a sweep found into training data, filter it tactic by tactic, retrain
the step prover with TRL, and sweep again with the new model.

- ``collect_trajectories`` / ``write_trajectories``: (state, tactic) pairs and preference pairs from sweeps;
- ``log_perplexities`` + ``filter_pairs``: the adaptive perplexity filter (``prover.expert.filtering``);
- ``train_sft`` / ``train_dpo``: resumable TRL training (``prover.expert.training``);
- ``run_expert_iteration``: the resumable loop behind ``prover train`` (``prover.expert.loop``).

Importing this package does not import torch, transformers or TRL; the functions that need them do.
"""

from prover.expert.config import ExpertConfig, FilterConfig, TrainConfig
from prover.expert.filtering import FilterOutcome, Thresholds, compute_thresholds, decide, filter_pairs
from prover.expert.loop import ExpertRun, RunMismatchError, run_expert_iteration
from prover.expert.perplexity import encode_pair, load_scorer, log_perplexities
from prover.expert.report import ExpertReport, RoundMetrics
from prover.expert.stages import StageOrderError, run_stage, stage_info
from prover.expert.training import TrainResult, build_sft_trainer, sft_trainer_for, train_dpo, train_sft
from prover.expert.trajectories import (
    NoSweepResultsError,
    Trajectories,
    collect_trajectories,
    load_rows,
    union_pairs,
    write_trajectories,
)

__all__ = [
    "ExpertConfig", "ExpertReport", "ExpertRun", "FilterConfig", "FilterOutcome", "NoSweepResultsError",
    "RoundMetrics", "RunMismatchError", "StageOrderError", "Thresholds", "TrainConfig", "TrainResult",
    "Trajectories", "build_sft_trainer", "collect_trajectories", "compute_thresholds", "decide",
    "encode_pair", "filter_pairs", "load_rows", "load_scorer", "log_perplexities", "run_expert_iteration",
    "run_stage", "sft_trainer_for", "stage_info", "train_dpo", "train_sft", "union_pairs",
    "write_trajectories",
]
