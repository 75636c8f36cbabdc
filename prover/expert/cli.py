"""``prover train``: the expert-iteration loop from the command line.

``add_train_command(commands)`` adds the sub-command to ``prover``'s parser; its options are generated from
``ExpertConfig``, ``FilterConfig``, ``TrainConfig`` and ``SweepConfig`` plus the run options ``prover sweep``
has (``prover.cli.spec``), and a config file may give them (``--config``, ``--print-config``).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from prover.cli import help_text
from prover.cli.config_file import add_config_file_options
from prover.cli.options import ProverArgumentParser, add_config_options, config_from_args
from prover.cli.short_help import set_common_options
from prover.cli.spec import (
    Problems,
    add_run_options,
    add_server_options,
    print_config,
    run_spec,
    search_config,
)
from prover.expert.config import ExpertConfig, FilterConfig, TrainConfig
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.report import ExpertReport
from prover.policies.hf_policy_config import HFPolicyConfig, require_model_folder
from prover.policies.spec import PolicySpec
from prover.run_spec import RunSpec, Tables, config_table, flatten, render_toml
from prover.sweep.config import SweepConfig
from prover.sweep.manifest import RESUMABLE, check_manifest
from prover.theorem_input import InputError

if TYPE_CHECKING:
    from prover.expert.loop import ExpertRun


def add_train_command(commands: argparse._SubParsersAction[ProverArgumentParser]) -> None:
    """Add ``train`` to ``prover``'s sub-commands; its handler is ``run_train_command(args, console)``."""
    parser = commands.add_parser(
        "train", help="expert iteration: sweep, collect proofs, filter, retrain the step prover",
        description="Rounds of: sweep the benchmark with the current model, collect the (state, tactic) "
        "pairs of the proofs found, drop the too-easy and too-noisy ones by perplexity, fine-tune with TRL; "
        "the next round sweeps with the new model. Every stage is resumable: rerun the same command (or with "
        "a larger --rounds) to continue. Writes a report (Markdown, JSON, plot) into --out. With --policy "
        "retrieval the model is the retrieval corpus: each round evaluates it on held-out rows (and stdlib "
        "test lemmas), searches the other rows, and adds the new proofs' steps to the next round's corpus.")
    parser.add_argument("benchmark", metavar="BENCH",
                        help="a .jsonl benchmark file, or the name of one (e.g. coq_basic)")
    add_config_options(parser.add_argument_group("expert iteration"), ExpertConfig, skip=("filter", "train"))
    add_config_options(parser.add_argument_group(
        "filter", "adaptive tactic-level filter: perplexity of each pair under the current model"),
        FilterConfig, prefix="filter")
    add_config_options(parser.add_argument_group("training", "supervised fine-tuning (and DPO) with TRL"),
                       TrainConfig, prefix="train")
    add_config_options(parser.add_argument_group(
        "retrieval expert iteration", "with --policy retrieval: the corpus is the model; each round's "
        "proofs grow it (prover.expert.retrieval_loop). No model scores the pairs unless --base-model names "
        "one: then the --filter-* perplexity filter applies to them"), RetrievalLoopConfig)
    sweep = parser.add_argument_group("sweep", "each round's sweep (its folder is in the round's)")
    add_config_options(sweep, SweepConfig, skip=("out",))
    add_run_options(parser)
    add_server_options(parser)
    add_config_file_options(parser)
    set_common_options(parser, help_text.TRAIN_COMMON)
    parser.set_defaults(handler=run_train_command)


def expert_config(args: argparse.Namespace) -> ExpertConfig:
    """The loop's validated settings from the parsed options; raises ``InputError``."""
    try:
        return config_from_args(ExpertConfig, args,
                                filter=config_from_args(FilterConfig, args, prefix="filter"),
                                train=config_from_args(TrainConfig, args, prefix="train"))
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def run_train_command(args: argparse.Namespace, console: Console) -> int:
    """Run (or resume) the loop; 0 when every round finished. Errors propagate to ``prover.cli.main.main``."""
    from prover.expert.loop import ExpertRun, base_model, run_expert_iteration
    from prover.policies.hf_policy_config import check_model_reference
    from prover.policies.spec import preflight

    problems = Problems()
    filter_config = problems.build("filter", lambda: config_from_args(FilterConfig, args, prefix="filter"))
    train_config = problems.build("train", lambda: config_from_args(TrainConfig, args, prefix="train"))
    config = problems.build("expert", lambda: config_from_args(
        ExpertConfig, args, filter=filter_config or FilterConfig(), train=train_config or TrainConfig()))
    model_policy = problems.build("model", lambda: config_from_args(HFPolicyConfig, args, prefix="model"))
    sweep = problems.build("sweep", lambda: config_from_args(SweepConfig, args, out=ExpertConfig().out))
    loop = problems.build("retrieval_loop", lambda: config_from_args(RetrievalLoopConfig, args))
    spec = run_spec(args, server=True, problems=problems)
    assert config is not None and model_policy is not None and sweep is not None  # run_spec raised otherwise
    if spec.policy.kind == "retrieval":
        from prover.expert.retrieval_cli import run_retrieval_train

        assert loop is not None
        return run_retrieval_train(args, console, spec=spec, config=config,
                                   sweep=replace(sweep, out=config.out), loop=loop)
    refuse_retrieval_options(loop)
    model_spec = PolicySpec("model", spec.policy.assistant, model=model_policy)
    run = ExpertRun(benchmark=args.benchmark, spec=spec, model_policy=model_policy,
                    sweep=replace(sweep, out=config.out), model_search=search_config(args, model_spec))
    if args.print_config:
        return print_config(train_tables(spec, config, run), spec)
    preflight(spec.policy)  # before round 1's sweep, not after it
    if spec.policy.assistant == "coq" and base_model(config, run) == HFPolicyConfig().model:
        raise InputError(f"prover train --backend coq retrains a step-prover model after each round, and "
                         f"none was named: the default, {HFPolicyConfig().model}, is a Lean model. Give "
                         "--base-model (a model folder to train), or use --policy retrieval (the learned "
                         "model that needs no GPU)")
    check_model_reference(base_model(config, run))
    require_model_folder(base_model(config, run), "--base-model" if config.base_model else "--model")
    record_train_config(config, run, train_tables(spec, config, run), spec)
    report = run_expert_iteration(config, run, console=console)
    print_expert_summary(console, report)
    return 0


def refuse_retrieval_options(loop: RetrievalLoopConfig | None) -> None:
    """Raise ``InputError`` naming the retrieval loop's options set for the model loop, which has no
    held-out part, stdlib lemmas or tactic model: ignored, they would leave a run that is not what was asked
    (held-out theorems searched and trained on)."""
    if loop is None:
        return
    default = RetrievalLoopConfig()
    given = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(loop)
             if getattr(loop, f.name) != getattr(default, f.name)]
    if given:
        raise InputError(f"{', '.join(given)}: options of the retrieval loop (--policy retrieval); the model "
                         "loop sweeps, trains and evaluates on the whole benchmark")


TRAIN_MANIFEST = "train.json"
# more rounds extend the run; the folder is the run whatever path named it
# (not the sweeps' theorems or attempts: each round must search the same theorems the same way)
TRAIN_RESUMABLE = (*(key for key in RESUMABLE if key not in ("sweep.limit", "sweep.attempts")),
                   "expert.rounds", "expert.evaluate_final", "expert.out")
TRAIN_TITLE = ("The configuration of this expert-iteration run. Resume it with\n"
               "  prover train BENCH --config config.toml --out FOLDER")


def record_train_config(config: ExpertConfig, run: ExpertRun, tables: Tables, spec: RunSpec) -> None:
    """Write the run folder's configuration (``train.json``, ``config.toml``), or refuse a resume whose
    configuration differs in anything but the round count and what does not change results, naming every
    differing key (``ConfigMismatchError``): rounds trained one way must not continue another."""
    from prover.sweep.benchmark import resolve_benchmark
    from prover.sweep.manifest import refuse_foreign_folder

    config_keys = flatten(tables)
    for key in ("model.model", "expert.base_model"):  # a local model named relatively, then absolutely
        if isinstance(config_keys.get(key), str) and Path(config_keys[key]).exists():
            config_keys[key] = str(Path(config_keys[key]).resolve())
    manifest = {"benchmark": str(resolve_benchmark(run.benchmark).resolve()), "config": config_keys}
    out = Path(config.out)
    refuse_foreign_folder(out, (TRAIN_MANIFEST, "run.json"), "expert-iteration run")
    out.mkdir(parents=True, exist_ok=True)
    check_manifest(out, manifest, render_toml(tables, spec.commented(), TRAIN_TITLE), name=TRAIN_MANIFEST,
                   resumable=TRAIN_RESUMABLE, what="an expert-iteration run")


def train_tables(spec: RunSpec, config: ExpertConfig, run: ExpertRun) -> Tables:
    """The configuration of ``prover train`` as config-file tables."""
    sweep = {key: value for key, value in config_table(run.sweep).items() if key != "out"}
    expert = {key: value for key, value in config_table(config).items() if key not in ("filter", "train")}
    tables = {name: table for name, table in spec.tables().items() if name != "planner"}  # train plans not
    return tables | {"model": config_table(run.model_policy), "sweep": sweep, "expert": expert,
                     "filter": config_table(config.filter), "train": config_table(config.train)}


def print_expert_summary(console: Console, report: ExpertReport) -> None:
    table = Table(title="expert iteration")
    for column in ("round", "solved", "pairs", "kept", "training", "loss"):
        table.add_column(column)
    for m in report.rounds:
        table.add_row(f"{m.round}{' (eval)' if m.evaluation else ''}",
                      "-" if m.proved is None else f"{m.proved}/{m.theorems}",
                      "-" if m.pairs is None else str(m.pairs), "-" if m.kept is None else str(m.kept),
                      m.train_mode or "-", "-" if m.train_loss is None else f"{m.train_loss:.4f}")
    console.print(table)
    console.print("report: " + ", ".join(str(p) for p in report.paths.values()), highlight=False)
