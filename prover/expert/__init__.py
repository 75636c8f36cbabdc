"""Expert iteration: turn the proofs a sweep found into training data, filter it tactic by tactic, retrain
the step prover with TRL, and sweep again with the new model.

- ``collect_trajectories`` / ``write_trajectories``: (state, tactic) pairs and preference pairs from sweeps;
- ``log_perplexities`` + ``filter_pairs``: the adaptive perplexity filter (``prover.expert.filtering``);
- ``train_sft`` / ``train_dpo``: resumable TRL training (``prover.expert.training``), optionally for a fixed
  time (``TrainConfig.max_seconds``);
- ``build_small_model``: a small Qwen2 and its tokenizer made from the pairs (``prover.expert.small_model``);
- ``evaluate_tactics``: held-out tactic perplexity and top-1/top-k accuracy (``prover.expert.tactic_eval``);
- ``read_pair_split``: a traced dataset's training and held-out pairs by the fixed file split
  (``prover.expert.pair_split``); ``PRESETS``: the small model's shapes and training recipes;
- ``run_expert_iteration``: the resumable loop behind ``prover train`` (``prover.expert.loop``);
- ``run_retrieval_iteration``: the loop behind ``prover train --policy retrieval``, whose model is the
  retrieval corpus (``prover.expert.retrieval_loop``): held-out rows by ``is_heldout``, corpus growth by
  ``grow``, the per-round report (``prover.expert.retrieval_report``); with a tactic model, a small
  transformer trained on the same data each round (``TacticRounds``, ``prover.expert.tactic_rounds``).

Importing this package does not import torch, transformers or TRL; the functions that need them do.
"""

from prover.expert.config import ExpertConfig, FilterConfig, TrainConfig
from prover.expert.corpus_growth import Growth, grow
from prover.expert.filtering import FilterOutcome, Thresholds, compute_thresholds, decide, filter_pairs
from prover.expert.heldout import BenchmarkParts, is_heldout, split_rows
from prover.expert.loop import ExpertRun, run_expert_iteration
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.pair_split import PairSplit, every_nth, read_pair_split
from prover.expert.perplexity import encode_pair, load_scorer, log_perplexities
from prover.expert.report import ExpertReport, RoundMetrics
from prover.expert.retrieval_loop import run_retrieval_iteration
from prover.expert.retrieval_report import CorpusRound, RetrievalReport
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.run_manifest import RunMismatchError
from prover.expert.small_model import SmallModelConfig, build_small_model, small_qwen2, train_tokenizer
from prover.expert.small_model_presets import PRESETS, SmallModelPreset, preset_train_config
from prover.expert.stages import StageOrderError, run_stage, stage_info
from prover.expert.tactic_eval import TacticEval, evaluate_tactics
from prover.expert.tactic_rounds import TacticRounds
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
    "PRESETS", "BenchmarkParts", "CorpusRound", "ExpertConfig", "ExpertReport", "ExpertRun", "FilterConfig",
    "FilterOutcome", "Growth", "NoSweepResultsError", "PairSplit", "RetrievalLoopConfig",
    "RetrievalReport", "RetrievalRun", "RoundMetrics", "RunMismatchError", "SmallModelConfig",
    "SmallModelPreset", "StageOrderError", "TacticEval", "TacticRounds", "Thresholds", "TrainConfig",
    "TrainResult", "Trajectories", "build_sft_trainer", "build_small_model", "collect_trajectories",
    "compute_thresholds", "decide", "encode_pair", "evaluate_tactics", "every_nth", "filter_pairs", "grow",
    "is_heldout", "load_rows", "load_scorer", "log_perplexities", "preset_train_config", "read_pair_split",
    "run_expert_iteration", "run_retrieval_iteration", "run_stage", "sft_trainer_for", "small_qwen2",
    "split_rows", "stage_info", "train_dpo", "train_sft", "train_tokenizer", "union_pairs",
    "write_trajectories"
]
