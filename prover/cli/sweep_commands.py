"""The commands around sweeps: ``prover sweep`` (prove a benchmark on Ray, with the checks made before
any worker starts), ``prover report`` (a sweep's or a training run's report from its folder) and
``prover benchmarks`` (the benchmarks a sweep knows by name)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from planner import PlanningUnsupportedError
from prover.backend_check import check_backend_starts
from prover.cli.exit_status import EXIT_INPUT, print_error
from prover.cli.options import config_from_args
from prover.cli.render import print_benchmarks, print_sweep_summary
from prover.cli.spec import Problems, describe_policy, policy_chosen, print_config, run_spec
from prover.planner_settings import PlannerSettings
from prover.policies.spec import ServedPolicy, preflight
from prover.run_spec import RunSpec, config_table
from prover.sweep.benchmark import load_benchmark, resolve_benchmark
from prover.sweep.benchmark_list import check_benchmark_assistant
from prover.sweep.config import SweepConfig
from prover.sweep.memory_budget import apply_memory_budget
from prover.theorem_input import InputError


def run_sweep_command(args: argparse.Namespace, console: Console) -> int:
    from prover.sweep import run_sweep

    problems = Problems()
    sweep = problems.build("sweep", lambda: config_from_args(SweepConfig, args))
    spec = run_spec(args, server=True, problems=problems)
    assert sweep is not None  # run_spec raised otherwise
    if args.print_config:
        return print_config(spec.tables() | {"sweep": config_table(sweep)}, spec)
    # A bad file, split or statement: before any start.
    benchmark = resolve_benchmark(args.benchmark)
    check_benchmark_assistant(benchmark, spec.backend.spec.assistant, args.benchmark)
    selected = load_benchmark(benchmark, sweep.split, spec.backend.spec.assistant)
    console.print(Text(describe_policy(spec.policy, chosen=policy_chosen(args))), highlight=False,
                  soft_wrap=True)
    check_backend_starts(spec.backend.name, spec.backend)
    sweep, budget = apply_memory_budget(sweep, spec.backend.name, spec.backend.config, spec.driver.sessions)
    if budget.lowered:
        console.print(f"[yellow]memory:[/] {budget.message()}", highlight=False)
    preflight(spec.policy)
    if spec.planner is not None:
        if not spec.backend.spec.plans:
            raise PlanningUnsupportedError(spec.backend.name)
        check_planner(spec.planner)
    served = start_served_policy(spec, sweep) if spec.policy.kind == "model" else None
    try:
        summary, paths = run_sweep(sweep, spec, benchmark=args.benchmark, policy_factory=served,
                                   console=console, selected=selected)
    finally:
        if served is not None:
            served.shutdown()
    print_sweep_summary(console, summary, paths)
    return 0


def check_planner(settings: PlannerSettings) -> None:
    """Before a planned sweep: the planner model is named and its HTTP endpoint answers (raises
    ``PlannerConfigError`` or ``PlannerEndpointError``), so no theorem fails one by one for it."""
    from planner import OpenAIChatPlanner

    if settings.client.provider != "openai":
        return  # a local model: each worker loads it; a bad one fails the first task, which ends the sweep
    client = OpenAIChatPlanner(settings.client)
    try:
        client.check_reachable()
    finally:
        client.close()


def start_served_policy(spec: RunSpec, sweep: SweepConfig) -> ServedPolicy:
    """Start the batching policy servers (each loads the model once, inside it) for a sweep's workers."""
    from prover.parallel.policy_server import PolicyServerConfig, serve_model
    from prover.sweep.runner import connect_ray

    assert spec.policy.model is not None
    connect_ray(sweep.address)
    return serve_model(spec.policy.model, spec.server or PolicyServerConfig(), spec.policy.label)


def run_report_command(args: argparse.Namespace, console: Console) -> int:
    """The report of a sweep, of a retrieval training run or of a model training run, by what the folder
    holds."""
    from prover.expert.report import is_model_run
    from prover.expert.retrieval_report import is_retrieval_run
    from prover.sweep import report_from_folder

    if is_retrieval_run(args.out):
        from prover.expert.retrieval_cli import print_retrieval_summary
        from prover.expert.retrieval_report import write_retrieval_report
        from prover.sweep.manifest import read_manifest

        manifest = read_manifest(args.out / "run.json")
        title = Path(manifest.get("benchmark") or args.out.name).stem  # as `prover train` titles it
        print_retrieval_summary(console, write_retrieval_report(args.out, title))
        return 0
    if is_model_run(args.out):
        from prover.expert.cli import print_expert_summary
        from prover.expert.report import write_folder_report

        print_expert_summary(console, write_folder_report(args.out))
        return 0
    summary, paths = report_from_folder(args.out)
    print_sweep_summary(console, summary, paths)
    return 0


def run_benchmarks_command(args: argparse.Namespace, console: Console) -> int:
    from prover.sweep.benchmark_list import known_benchmarks

    infos = known_benchmarks(args.folders)
    if args.json:
        for info in infos:
            print(json.dumps({"name": info.name, "path": str(info.path), "splits": info.splits,
                              "rows": info.rows, "invalid": info.invalid, "error": info.error,
                              "assistant": info.assistant or None}))
    else:
        print_benchmarks(Console(), infos)
    named = {Path(place).resolve() for place in args.folders if Path(place).is_file()}
    broken = [info for info in infos if info.error and Path(info.path).resolve() in named]
    for info in broken:  # a file named on its own that cannot be read; a folder's are listed with theirs
        print_error(console, InputError(info.error))
    return EXIT_INPUT if broken else 0
