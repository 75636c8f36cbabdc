"""The small transformer of retrieval expert iteration (``RetrievalLoopConfig.tactic_model``): trained
through the product's TRL path (``train_sft``) on the same data as the retrieval corpus, round by round,
for a fixed time (``TrainConfig.max_seconds``; on the GPU when there is one), and evaluated on one fixed
set of held-out pairs (``evaluate_tactics``: perplexity, top-1 and top-k accuracy) before and after.

The rule (``ROUND_RULE``): model r has seen what corpus r holds. Round 0 trains the initial model (a
preset's untrained model, its tokenizer built from the round-0 pairs, or a given model folder) on the
traced train files' pairs (de-duplicated; every n-th of them when ``tactic_train_pairs`` is set); round
r >= 1 continues from model r-1 on the pairs round r-1 added to the corpus (``growth/added.jsonl``),
with no warm-up (the model is trained already, and a round adds a few batches that a warm-up would eat).
Pairs on a held-out state (a train file can hold a test file's goal: a model trained on it would be scored
on a pair it learnt), added pairs model r-1 was already trained on, and pairs longer than
``TrainConfig.max_length`` tokens are not trained on (each counted; round 0's held-out-state count is also
in ``plan.json``, ``round0_heldout_state``); a round with nothing to train on keeps model r-1. "Before" is
round 0's initial model, evaluated; round r's "before" is round r-1's "after" (the same model on the same
pairs). The held-out pairs (``HELDOUT_RULE``) come from the standard library's test
files, which neither the corpus nor any round's search holds.

Folders in the run folder::

    tactic-model/plan.json        the model, the training settings, the held-out and round-0 samples
                                  (sizes, digests): a rerun with other ones is refused
    tactic-model/heldout.jsonl    the held-out pairs
    tactic-model/base/            round 0's untrained model (with a preset)
    round-NN/tactic-model/model/  model r (with ``train_result.json``)
    round-NN/tactic_model.done.json   the stage's marker: pairs, training, metrics before and after

The stage is resumable like the loop's others (``prover.expert.stages``): a finished round is skipped; a
training cut off resumes from its last checkpoint (``train_sft``).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.expert.config import TrainConfig
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.pair_split import (
    SAMPLE_RULE,
    Pair,
    every_nth,
    pairs_digest,
    read_pair_split,
    without_heldout_states,
)
from prover.expert.run_manifest import check_run
from prover.expert.small_model_presets import PRESETS, preset_train_config
from prover.expert.stages import TACTIC_STAGE, require_stage, round_dir, run_stage, write_jsonl
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)

STAGE = TACTIC_STAGE
FOLDER = "tactic-model"
PLAN_FILE = f"{FOLDER}/plan.json"
ROUND_RULE = ("model r has seen what corpus r holds: round 0 trains the initial model on the traced train "
              "files' pairs, round r >= 1 continues from model r-1 (no warm-up) on the pairs round r-1 added "
              "(every round less pairs on held-out states and pairs over max_length tokens, round r >= 1 "
              "less pairs already trained on)")
HELDOUT_RULE = f"the standard library's test files' traced steps, {SAMPLE_RULE}"


class TacticRounds:
    """The tactic-model stage of one run folder: ``plan`` once, then ``run_round`` for rounds 0, 1, ...

    ``train``'s fields left at their defaults take the preset's recipe, and ``max_seconds`` a default
    (``preset_train_config``). Raises ``ValueError`` for a loop configuration with no tactic model,
    ``InputError`` for settings that leave nothing to evaluate."""

    def __init__(self, out: Path, loop: RetrievalLoopConfig, train: TrainConfig) -> None:
        if loop.tactic_model is None:
            raise ValueError("the loop configuration names no tactic model")
        self.out, self.loop, self.name = Path(out), loop, loop.tactic_model
        self.preset = PRESETS.get(loop.tactic_model)
        self.train = preset_train_config(self.preset, train)
        if self.train.max_length <= loop.tactic_max_new_tokens:
            raise InputError(f"tactic model: --train-max-length ({self.train.max_length}) must exceed "
                             f"--tactic-max-new-tokens ({loop.tactic_max_new_tokens}): the held-out prompts "
                             "get the difference")
        self.heldout: list[Pair] = []
        self.round0: list[Pair] = []
        self.round0_heldout_state = 0  # round-0 pairs left out: their state is a held-out pair's
        self.heldout_states: frozenset[str] = frozenset()

    # --- the plan, fixed for the whole run -------------------------------------------------------------
    def plan(self, corpus: str | Path) -> dict[str, Any]:
        """Read the traced dataset's split, fix the held-out and round-0 pairs, write or check
        ``tactic-model/plan.json`` and write the held-out pairs. Raises ``InputError`` (``DatasetError``
        for no traced dataset, ``RunMismatchError`` for a run folder planned otherwise)."""
        split = read_pair_split(corpus)
        if not split.heldout:
            raise InputError(f"{corpus}: no traced step of a standard-library test file: nothing to evaluate "
                             "the tactic model on (trace some test files, see prover/stdlib_bench/split.py)")
        if not split.train:
            raise InputError(f"{corpus}: no traced step of a train file: nothing to train the tactic model "
                             "on")
        self.heldout = every_nth(split.heldout, self.loop.tactic_heldout_pairs)
        self.heldout_states = split.heldout_states
        limit = self.loop.tactic_train_pairs
        sample = split.train if limit is None else every_nth(split.train, limit)
        self.round0, self.round0_heldout_state = without_heldout_states(
            ({"state": state, "tactic": tactic} for state, tactic in sample), self.heldout_states)
        manifest = self.manifest(corpus, len(split.train))
        (self.out / FOLDER).mkdir(parents=True, exist_ok=True)
        check_run(self.out, manifest, name=PLAN_FILE)
        write_jsonl(self.out / FOLDER / "heldout.jsonl", ({"state": s, "tactic": t} for s, t in self.heldout))
        return manifest

    def manifest(self, corpus: str | Path, traced_train_pairs: int) -> dict[str, Any]:
        model = self.name if self.preset is not None else str(Path(self.name).resolve())
        shape = None if self.preset is None else dataclasses.asdict(self.preset.shape)
        return {"model": model, "preset": shape, "corpus": str(Path(corpus).resolve()), "rule": ROUND_RULE,
                "train": dataclasses.asdict(self.train),
                "heldout": {"rule": HELDOUT_RULE, "pairs": len(self.heldout),
                            "digest": pairs_digest(self.heldout)},
                "round0": {"rule": SAMPLE_RULE if self.loop.tactic_train_pairs else "all",
                           "pairs": len(self.round0), "of": traced_train_pairs,
                           "digest": pairs_digest(self.round0)},
                "round0_heldout_state": self.round0_heldout_state,
                "eval": {"k": self.loop.tactic_k, "max_new_tokens": self.loop.tactic_max_new_tokens,
                         "max_prompt_tokens": self.max_prompt_tokens}}

    @property
    def max_prompt_tokens(self) -> int:
        return self.train.max_length - self.loop.tactic_max_new_tokens

    # --- one round ------------------------------------------------------------------------------------
    def run_round(self, round_number: int, added: Sequence[Path] = ()) -> dict[str, Any]:
        """Round ``round_number``'s stage (skipped when its marker exists): train on round 0's pairs or on
        the ``added`` files' pairs (round >= 1), evaluate; returns the marker. Raises ``StageOrderError``
        when round r-1's stage has not finished."""
        if not self.heldout:
            raise RuntimeError("TacticRounds.plan must run before run_round")
        folder = round_dir(self.out, round_number)
        return run_stage(folder, STAGE, lambda: self.train_round(round_number, added))[0]

    def train_round(self, round_number: int, added: Sequence[Path]) -> dict[str, Any]:
        previous = None if round_number == 0 else require_stage(round_dir(self.out, round_number - 1), STAGE,
                                                                 STAGE)
        init = self.base_model() if previous is None else str(previous["model_dir"])
        pairs, counts = self.round_pairs(round_number, added, init)
        before = self.evaluate(init) if previous is None else previous["after"]
        info: dict[str, Any] = {
            "round": round_number, "rule": ROUND_RULE, "model": self.name, "init_model": init,
            "device": self.device(), "pairs": counts, "heldout_pairs": len(self.heldout),
            "before": before,
            "before_is": "initial model" if previous is None else f"round {round_number - 1}"}
        if not pairs:
            logger.info("tactic model, round %d: nothing new to train on; model %s kept", round_number, init)
            return info | {"model_dir": init, "training": None, "after": before}
        from prover.expert.training import train_sft

        work = round_dir(self.out, round_number) / FOLDER
        config = self.train if previous is None else dataclasses.replace(self.train, warmup=0.0)
        result = train_sft([{"state": s, "tactic": t} for s, t in pairs], init_model=init,
                           work_dir=work / "sft", final_dir=work / "model", config=config)
        shutil.rmtree(work / "sft", ignore_errors=True)  # checkpoints of a finished run: the model is final
        after = self.evaluate(result.model_dir)
        logger.info("tactic model, round %d: perplexity %.2f -> %.2f, top-%d %.1f%% -> %.1f%%", round_number,
                    before["perplexity"], after["perplexity"], self.loop.tactic_k, 100 * before["topk"],
                    100 * after["topk"])
        return info | {"model_dir": result.model_dir, "training": dataclasses.asdict(result), "after": after}

    def round_pairs(self, round_number: int, added: Sequence[Path], init: str,
                    ) -> tuple[list[Pair], dict[str, int]]:
        """The pairs round ``round_number`` trains on (``ROUND_RULE``) and the counts of each step."""
        from prover.expert.trajectories import load_rows

        if round_number == 0:
            given, heldout_state = list(self.round0), self.round0_heldout_state
        else:
            given, heldout_state = without_heldout_states(
                (row for path in added for row in load_rows(path)), self.heldout_states)
        seen = set(self.round0) | {pair for earlier in range(1, round_number)
                                   for pair in self.trained_pairs(earlier)}
        fresh = [pair for pair in dict.fromkeys(given) if round_number == 0 or pair not in seen]
        fitting = self.fitting(fresh, init)
        counts = {"given": len(given) + heldout_state, "heldout_state": heldout_state,
                  "duplicate": len(given) - len(fresh), "too_long": len(fresh) - len(fitting),
                  "trained": len(fitting)}
        if round_number:
            write_jsonl(round_dir(self.out, round_number) / FOLDER / "pairs.jsonl",
                        ({"state": s, "tactic": t} for s, t in fitting))
        return fitting, counts

    def trained_pairs(self, round_number: int) -> list[Pair]:
        """The pairs round ``round_number`` >= 1 trained on, as it recorded them."""
        from prover.expert.trajectories import load_rows

        path = round_dir(self.out, round_number) / FOLDER / "pairs.jsonl"
        return [(row["state"], row["tactic"]) for row in load_rows(path)] if path.is_file() else []

    def fitting(self, pairs: list[Pair], model: str) -> list[Pair]:
        """The pairs whose prompt, tactic and EOS fit ``max_length`` tokens of ``model``'s tokenizer."""
        from planner.model_loading import load_tokenizer
        from prover.expert.perplexity import encode_pair

        if not pairs:
            return []
        tokenizer = load_tokenizer(model)
        return [p for p in pairs if len(encode_pair(tokenizer, *p).ids) <= self.train.max_length]

    def base_model(self) -> str:
        """Round 0's initial model: the preset's, built once from the round-0 pairs, or the given folder."""
        if self.preset is None:
            return str(Path(self.name).resolve())
        from prover.expert.small_model import build_small_model

        base = self.out / FOLDER / "base"
        if not base.is_dir():  # built beside it and renamed into place: a folder there is complete
            build_small_model(self.round0, base, self.preset.shape, seed=self.train.seed)
        return str(base)

    # --- evaluation -----------------------------------------------------------------------------------
    def device(self) -> str:
        from prover.expert.training import train_device

        return train_device(self.train)

    def evaluate(self, model_dir: str) -> dict[str, Any]:
        """Perplexity and top-1/top-k accuracy of ``model_dir`` on the held-out pairs (``TacticEval``)."""
        from planner.model_loading import load_causal_lm
        from prover.expert.tactic_eval import evaluate_tactics
        from prover.expert.training import free_accelerator_memory, quiet_progress

        device = self.device()
        with quiet_progress():
            model, tokenizer = load_causal_lm(model_dir, device=device, require_eos=True,
                                              dtype="float32" if device == "cpu" else "bfloat16")
        try:
            result = evaluate_tactics(model, tokenizer, self.heldout, k=self.loop.tactic_k,
                                      batch_size=self.loop.tactic_eval_batch,
                                      max_new_tokens=self.loop.tactic_max_new_tokens,
                                      max_prompt_tokens=self.max_prompt_tokens)
        except ValueError as exc:
            raise InputError(f"tactic model {model_dir}: {exc} (raise --train-max-length)") from exc
        finally:
            del model
            free_accelerator_memory()
        return result.summary()
