"""Settings of expert iteration with the retrieval policy as the learned model
(``prover.expert.retrieval_loop``): which benchmark rows are held out, which standard-library lemmas join
the data search and the evaluation, the corpus-growth rule, and the optional small transformer trained on
the same data each round (``prover.expert.tactic_rounds``). Torch-free, so the CLI builds its options
from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prover.expert.small_model_presets import PRESETS
from search.validation import Validated, setting


def _preset_or_model(value: str) -> str | None:
    """The problem with a ``tactic_model`` value: it must name a preset or a model folder."""
    if value in PRESETS or (Path(value) / "config.json").is_file():
        return None
    where = "a folder with no config.json" if Path(value).is_dir() else "no such folder"
    return (f"tactic_model must be a preset ({', '.join(sorted(PRESETS))}) or a model folder, got {value!r} "
            f"({where})")


@dataclass(frozen=True, kw_only=True)
class RetrievalLoopConfig(Validated):
    """Validated settings of the retrieval expert-iteration loop."""

    config_name = "retrieval expert-iteration configuration"

    heldout_percent: int = setting(
        25, min=0, max=90,
        help="percent of the benchmark's rows held out: never searched for data, evaluated every round "
             "(the rule: int(sha256(name)[:8], 16) mod 100 < PERCENT; 0: none)")
    data_limit: int | None = setting(
        None, min=1, help="search at most the first N data rows (file order) each round")
    heldout_limit: int | None = setting(
        None, min=1, help="evaluate at most the first N held-out rows (file order) each round")
    stdlib_root: str | None = setting(
        None, nonblank=True,
        help="the theories/ folder the corpus was traced from (default: that of `coqc -where`)")
    stdlib_train_files: int = setting(
        0, min=0, help="standard-library train files whose lemmas join each round's data search (0: none); "
                       "those lemmas are searched without these files' traced proofs in the index")
    stdlib_train_per_file: int = setting(2, min=1, help="lemmas per standard-library train file")
    stdlib_train_fresh: bool = setting(
        False, help="each round searches train files no earlier round searched (the sample rule applied to "
                    "the train files earlier rounds did not take), so every round's data is new; off: every "
                    "round searches the same sample")
    stdlib_test_files: int = setting(
        0, min=0, help="standard-library test files whose lemmas are evaluated every round (0: none)")
    stdlib_test_per_file: int = setting(2, min=1, help="lemmas per standard-library test file")
    data_budget_factor: float = setting(
        1.0, min=1,
        help="the data searches (data rows, stdlib train lemmas) get this many times the budget's "
             "expansions and time limit; the evaluation keeps the budget itself, so every round is "
             "measured alike while data collection explores further (1: one budget everywhere)")
    data_tactics_per_node: int | None = setting(
        None, min=1,
        help="the data searches ask the policy for this many tactics per node (default: the budget's): a "
             "wider data search finds proofs through candidates the evaluation's width leaves out, and the "
             "grown corpus teaches the next round to rank them in")
    drop_trivial: bool = setting(
        True, help="a one-step proof whose tactic the tactic list proposes at the root is counted but "
                   "not added to the corpus")
    tactic_model: str | None = setting(
        None, nonblank=True, check=_preset_or_model,
        help="also train a small transformer each round on the data the round's corpus holds and report its "
             "held-out tactic perplexity and top-1/top-k accuracy: a preset (tiny, cpu, gpu: built from "
             "the round-0 pairs) or a model folder to continue from; each round trains for "
             "--train-max-seconds (default 300), on the GPU when there is one (--train-device). Off when "
             "unset")
    tactic_train_pairs: int | None = setting(
        None, min=1, help="round 0 trains the tactic model on at most N of the traced train pairs "
                          "(every n-th, trace order; default: all)")
    tactic_heldout_pairs: int = setting(
        200, min=1, help="held-out pairs the tactic model is evaluated on every round: every n-th traced "
                         "step of the standard library's test files, fixed for the run")
    tactic_k: int = setting(5, min=1, help="beams of the tactic model's top-k accuracy")
    tactic_max_new_tokens: int = setting(
        48, min=1, help="longest tactic the tactic model writes in the evaluation, in tokens")
    tactic_eval_batch: int = setting(
        8, min=1, help="held-out pairs per batch in the tactic model's evaluation")
