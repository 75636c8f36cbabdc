"""``prover train --policy retrieval``: expert iteration whose learned model is the retrieval corpus
(``prover.expert.retrieval_loop``), and its summary on the console (also what ``prover report`` prints for
such a run)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from prover.cli.spec import print_config
from prover.expert.config import ExpertConfig
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.retrieval_loop import run_retrieval_iteration
from prover.expert.retrieval_report import DATA_SEARCHES, EVALUATIONS, RetrievalReport, budget_text
from prover.expert.retrieval_run import RetrievalRun
from prover.run_spec import RunSpec, Tables, config_table
from prover.sweep.config import SweepConfig


def run_retrieval_train(args: argparse.Namespace, console: Console, *, spec: RunSpec, config: ExpertConfig,
                        sweep: SweepConfig, loop: RetrievalLoopConfig) -> int:
    """Run (or resume) the loop; 0 when every round finished. Errors propagate to ``prover.cli.main``."""
    run = RetrievalRun(benchmark=args.benchmark, spec=spec, sweep=sweep, loop=loop)
    if args.print_config:
        return print_config(retrieval_tables(spec, config, run), spec)
    if config.base_model is not None:  # the scoring model of the perplexity filter: fail before round 0
        from prover.policies.hf_policy_config import check_model_reference, require_model_folder

        check_model_reference(config.base_model)
        require_model_folder(config.base_model, "--base-model")
    report = run_retrieval_iteration(config, run, console=console)
    print_retrieval_summary(console, report)
    return 0


def retrieval_tables(spec: RunSpec, config: ExpertConfig, run: RetrievalRun) -> Tables:
    """The configuration of ``prover train --policy retrieval`` as config-file tables (``train`` only with
    a tactic model, the one thing it trains)."""
    sweep = {key: value for key, value in config_table(run.sweep).items() if key != "out"}
    expert = {key: value for key, value in config_table(config).items() if key not in ("filter", "train")}
    tables = {name: table for name, table in spec.tables().items() if name not in ("planner", "model")}
    train = {"train": config_table(config.train)} if run.loop.tactic_model is not None else {}
    return tables | {"sweep": sweep, "expert": expert, "filter": config_table(config.filter)} | train | {
        "retrieval_loop": config_table(run.loop)}


def print_retrieval_summary(console: Console, report: RetrievalReport) -> None:
    table = Table(title=f"expert iteration (retrieval), {budget_text(report.budget)} per theorem")
    stages = {**EVALUATIONS, **DATA_SEARCHES}
    short = {"heldout": "held-out", "search": "data"}  # the benchmark's parts: 80 columns hold every header
    # index states: what the round's retrieval index holds (the traced train files' steps and the pairs
    # earlier rounds added); in corpus: those earlier rounds' pairs alone (0 in round 0); new: the pairs
    # this round's data searches add for the next round
    for column in ("round", "index states", "in corpus", *(short.get(k, v) for k, v in stages.items()),
                   "new"):
        table.add_column(column, overflow="fold")
    for row in report.rounds:
        cells = []
        for stage in stages:
            proved, counted = row.solved.get(stage, (0, 0))
            cells.append(f"{proved}/{counted}" if stage in row.solved else "-")
        added = "-" if row.added is None else str(row.added)
        states = "-" if row.index_states is None else str(row.index_states)
        table.add_row(str(row.round), states, str(row.corpus_pairs), *cells, added)
    console.print(table)
    for row in report.rounds:
        if row.tactic is not None:
            before, after = row.tactic["before"], row.tactic["after"]
            console.print(f"tactic model, round {row.round}: {row.tactic['trained_pairs']} pairs trained; "
                          f"held-out perplexity {before['perplexity']:.2f} -> {after['perplexity']:.2f}, "
                          f"top-1 {before['top1']:.1%} -> {after['top1']:.1%}, top-{after['k']} "
                          f"{before['topk']:.1%} -> {after['topk']:.1%}", highlight=False)
    console.print("report: " + ", ".join(str(p) for p in report.paths.values()), highlight=False)
