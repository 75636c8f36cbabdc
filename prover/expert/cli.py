"""``prover train``: the expert-iteration loop from the command line.

``add_train_command(commands)`` adds the sub-command to ``prover``'s parser; its options are generated from
``ExpertConfig``, ``FilterConfig``, ``TrainConfig`` and ``SweepConfig`` plus the search, policy and backend
options ``prover sweep`` has. ``prover.cli`` is imported inside the functions, so that module may import this
one at its top without an import cycle.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from prover.cli_options import add_config_options, config_from_args
from prover.expert.config import ExpertConfig, FilterConfig, TrainConfig
from prover.expert.report import ExpertReport
from prover.hf_policy_config import HFPolicyConfig
from prover.sweep.config import SweepConfig
from prover.theorem_input import InputError


def add_train_command(commands: argparse._SubParsersAction) -> None:
    """Add ``train`` to ``prover``'s sub-commands; its handler is ``run_train_command(args, console)``."""
    from prover.cli import add_search_options, add_server_options

    parser = commands.add_parser(
        "train", help="expert iteration: sweep, collect proofs, filter, retrain the step prover",
        description="Rounds of: sweep the benchmark with the current model, collect the (state, tactic) "
        "pairs of the proofs found, drop the too-easy and too-noisy ones by perplexity, fine-tune with TRL; "
        "the next round sweeps with the new model. Every stage is resumable: rerun the same command (or with "
        "a larger --rounds) to continue. Writes a report (Markdown, JSON, plot) into --out.")
    parser.add_argument("benchmark", metavar="BENCH",
                        help="a .jsonl benchmark file, or the name of one (e.g. coq_basic)")
    add_config_options(parser.add_argument_group("expert iteration"), ExpertConfig, skip=("filter", "train"))
    add_config_options(parser.add_argument_group(
        "filter", "adaptive tactic-level filter: perplexity of each pair under the current model"),
        FilterConfig, prefix="filter")
    add_config_options(parser.add_argument_group("training", "supervised fine-tuning (and DPO) with TRL"),
                       TrainConfig, prefix="train")
    sweep = parser.add_argument_group("sweep", "each round's sweep (its folder is in the round's)")
    add_config_options(sweep, SweepConfig, skip=("out",))
    add_search_options(parser)
    add_server_options(parser)
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
    """Run (or resume) the loop; 0 when every round finished. Errors propagate to ``prover.cli.main``."""
    from prover.backends import BACKENDS, backend_factory
    from prover.cli import search_config, server_config
    from prover.expert.loop import ExpertRun, base_model, run_expert_iteration
    from prover.hf_policy_config import check_model_reference
    from prover.policies import PolicySpec, policy_spec, preflight

    assistant = BACKENDS[args.backend].assistant
    spec = policy_spec(args, assistant)
    config = expert_config(args)
    try:
        model_policy = config_from_args(HFPolicyConfig, args, prefix="model")
        sweep = config_from_args(SweepConfig, args, out=config.out)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    search = search_config(args, spec)
    model_search = search_config(args, PolicySpec("model", assistant, model=model_policy))
    run = ExpertRun(benchmark=args.benchmark, backend_factory=backend_factory(args.backend, args),
                    policy=spec, model_policy=model_policy, search=search, model_search=model_search,
                    sweep=sweep, backend_name=args.backend, sessions=args.sessions,
                    server=server_config(args))
    preflight(spec)  # before round 1's sweep, not after it
    check_model_reference(base_model(config, run))
    report = run_expert_iteration(config, run, console=console)
    print_expert_summary(console, report)
    return 0


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
