"""The ``prover`` command line: prove one theorem, check the installation, set Lean up.

Errors a user can cause (bad input, a missing proof assistant, a model that cannot load) are turned
into one-line messages here, at the one boundary, with exit codes: 0 proved / done, 1 not proved,
2 bad input, 3 backend or model unavailable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from planner import PlannerConfigError, PlannerError, PlanningUnsupportedError
from planner.endpoint import EndpointError
from prover.atomic_files import write_text_atomic
from prover.backend_check import check_backend_starts
from prover.backends import BACKENDS, add_backend_options, backend_factory
from prover.cli_options import (
    ProverArgumentParser,
    add_config_options,
    add_verbose_option,
    config_from_args,
)
from prover.error_causes import error_cause_of
from prover.expert.cli import add_train_command
from prover.hf_policy_config import ModelLoadError
from prover.logs import report_retries, setup_logging
from prover.planner_cli import (
    PlannerSettings,
    add_planner_options,
    planner_settings,
    print_planned_result,
)
from prover.policies import (
    LazyPolicy,
    PolicySpec,
    ServedPolicy,
    add_policy_options,
    describe_policy,
    natural_width,
    policy_spec,
    preflight,
)
from prover.policy_server import PolicyServerError
from prover.progress_display import ProgressDisplay
from prover.render import print_benchmarks, print_result, print_sweep_summary
from prover.setup_lean import SetupError
from prover.sweep.benchmark import load_benchmark, resolve_benchmark
from prover.sweep.config import SweepConfig
from prover.sweep.errors import WorkerStartError
from prover.sweep.memory_budget import apply_memory_budget, backend_config
from prover.theorem_input import InputError, read_text, theorem_from_file, theorem_from_text
from prover.tracing.cli import add_trace_command
from search import (
    BackendUnavailableError,
    InvalidTheoremError,
    SearchConfig,
    SearchResult,
    prove,
    prove_overlapped,
)

EXIT_PROVED, EXIT_UNPROVED, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = ProverArgumentParser(prog="prover", description="Step-level theorem prover for Lean 4 "
                                     "(and Coq): best-first LLM tactic search.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prove_parser = commands.add_parser(
        "prove", help="prove one theorem", description="Search for a proof of one theorem and print it "
        "once the proof assistant verified it as a whole.")
    add_prove_options(prove_parser)
    add_verbose_option(prove_parser)
    add_planner_options(prove_parser)
    prove_parser.set_defaults(handler=run_prove)
    sweep_parser = commands.add_parser(
        "sweep", help="prove every theorem of a benchmark on Ray", description="Run a benchmark "
        "(MiniF2F, ProofNet, the Coq benchmark, any JSONL in their format) through parallel search "
        "workers on a local Ray or a cluster; results are durable and a rerun resumes.")
    sweep_parser.add_argument("benchmark", metavar="BENCH",
                              help="a .jsonl benchmark file, the name of one (e.g. coq_basic), or a "
                                   "folder in the miniF2F-rocq layout (DIR/test/*.v, DIR/valid/*.v; "
                                   "--split picks the folder)")
    add_config_options(sweep_parser.add_argument_group("sweep"), SweepConfig)
    add_verbose_option(sweep_parser)
    add_search_options(sweep_parser)
    add_server_options(sweep_parser)
    add_planner_options(sweep_parser)
    sweep_parser.set_defaults(handler=run_sweep_command)
    report_parser = commands.add_parser(
        "report", help="write a sweep's report from what it has finished (while it runs, or after a stop)",
        description="Rewrite report.md, report.json and the plot of the sweep in OUT from its results so "
        "far, without running anything; a running sweep is not disturbed.")
    report_parser.add_argument("out", metavar="OUT", type=Path, help="the --out folder of a sweep")
    report_parser.set_defaults(handler=run_report_command)
    benchmarks_parser = commands.add_parser(
        "benchmarks", help="list the benchmarks a sweep knows by name, with their splits and row counts",
        description="The .jsonl files in $PROVER_BENCHMARKS_DIR and the package's own benchmarks (names "
        "`prover sweep` takes), then those in FOLDER (by path), e.g. ../shared/benchmarks.")
    benchmarks_parser.add_argument("folders", metavar="FOLDER", type=Path, nargs="*",
                                   help="more folders (or files) to list: .jsonl files and miniF2F-rocq "
                                        "checkouts (DIR/{test,valid}/*.v)")
    benchmarks_parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    benchmarks_parser.set_defaults(handler=run_benchmarks_command)
    add_train_command(commands)
    add_trace_command(commands)
    doctor_parser = commands.add_parser(
        "doctor", help="report what is installed for proving, and how to fix what is missing")
    doctor_parser.add_argument("--project-dir", type=Path, metavar="DIR",
                               help="the Lake project to check (default: lean_project/ of this repository)")
    doctor_parser.set_defaults(handler=run_doctor)
    setup_parser = commands.add_parser(
        "setup", help="install Lean (elan), Mathlib's build cache and the REPL (needs internet)")
    setup_parser.add_argument("--project-dir", type=Path, metavar="DIR",
                              help="the Lake project to build (default: lean_project/ of this repository)")
    setup_parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    setup_parser.set_defaults(handler=run_setup)
    return parser


PROVE_TIME_LIMIT = 120.0  # one theorem from the command line: minutes at most, not BFS-Prover-V2's 600 s


def add_search_options(parser: argparse.ArgumentParser, *, single: bool = False) -> None:
    """Backend, search, policy and backend-specific options, shared by prove and sweep. ``single``: for
    one theorem at the command line (prove), whose default time budget is shorter."""
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="repl",
                        help="proof assistant: " + "; ".join(f"{s.name}: {s.summary}"
                                                             for s in BACKENDS.values()) + " (default: repl)")
    search = parser.add_argument_group("search", "best-first search (BFS-Prover-V2 defaults)")
    time_limit = SearchConfig.__dataclass_fields__["time_limit"].default
    defaults = {"tactics_per_node": None, "tactic_timeout": None,
                "time_limit": PROVE_TIME_LIMIT if single else time_limit}
    add_config_options(search, SearchConfig, defaults=defaults, helps={
        "time_limit": "wall-clock budget of the search, in seconds (default: "
                      + (f"{PROVE_TIME_LIMIT:g} for one theorem; sweeps use {time_limit:g} as BFS-Prover-V2)"
                         if single else f"{time_limit:g} per attempt, as BFS-Prover-V2)"),
        "tactics_per_node": "tactics asked of the policy per expanded state (default: 4 for a model, "
                            "the whole list for --policy tactics)",
        "tactic_timeout": "time limit of one tactic, in seconds (default: 12 for Lean as BFS-Prover-V2, "
                          "5 for Coq, whose tactics are fast or diverge)"})
    search.add_argument("--sessions", type=int, default=1, metavar="INT",
                        help="proof-assistant sessions per search; above 1, sibling tactics run in "
                             "parallel and the model works meanwhile (pair with --expansion-width) "
                             "(default: 1, the sequential driver)")
    add_policy_options(parser)
    add_backend_options(parser)


def search_config(args: argparse.Namespace, spec: PolicySpec) -> SearchConfig:
    """The search settings: the options given, else the defaults of the backend and the policy."""
    if args.sessions < 1:
        raise InputError(f"--sessions must be >= 1, got {args.sessions}")
    width = args.tactics_per_node
    if width is None:
        width = (natural_width(spec()) if spec.kind == "tactics" else None) or 4
        if spec.kind == "retrieval":
            width = spec.retrieval.width
    timeout = args.tactic_timeout
    if timeout is None:
        timeout = BACKENDS[args.backend].tactic_timeout
    try:
        return config_from_args(SearchConfig, args, tactics_per_node=width, tactic_timeout=timeout)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def add_prove_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("theorem", "the statement as text, or a file and a name")
    source.add_argument("statement", nargs="?", help="the statement, e.g. 'theorem t (n : ℕ) : n + 0 = n :='")
    source.add_argument("--header", default="", help="text before the statement: imports, opens, defs")
    source.add_argument("--header-file", type=Path, metavar="FILE", help="read the header from FILE")
    source.add_argument("--file", type=Path, metavar="FILE",
                        help="a .lean, .v or benchmark .jsonl file holding the theorem (with --name)")
    source.add_argument("--name", help="the theorem's name in --file (default for a .v file: the file's "
                                       "name, as in miniF2F-rocq)")
    add_search_options(parser, single=True)
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as one JSON object")
    out.add_argument("--graph-out", type=Path, metavar="FILE",
                     help="write the explored graph as node-link JSON (networkx) to FILE")
    out.add_argument("--quiet", action="store_true",
                     help="no live progress line (on a terminal) and no periodic status lines (with -v)")
    out.add_argument("--html", type=Path, metavar="FILE",
                     help="write an interactive page of the explored graph to FILE (one self-contained "
                          "HTML file, works offline): states, tactics with scores, errors, the proof "
                          "path, a replay of the search")


def read_theorem(args: argparse.Namespace, assistant: str):
    header = args.header
    if args.header_file:
        if not args.header_file.is_file():
            raise InputError(f"{args.header_file}: no such file")
        header = read_text(args.header_file)
    if args.file is not None:
        if args.statement:
            raise InputError("with --file give no statement text")
        if not args.name and args.file.suffix != ".v":
            raise InputError("with --file give --name (a .v file needs none when its theorem is named "
                             "like the file)")
        return theorem_from_file(args.file, args.name or None)
    if not args.statement:
        raise InputError("give the statement as text, or --file FILE --name NAME")
    return theorem_from_text(args.statement, header, assistant)


def run_prove(args: argparse.Namespace, console: Console) -> int:
    assistant = BACKENDS[args.backend].assistant
    theorem = read_theorem(args, assistant)
    spec = policy_spec(args, assistant)
    config = search_config(args, spec)
    planner = planner_settings(args)
    if planner is not None and args.html is not None:
        raise InputError("--html draws the graph of one search; --planner runs one per subgoal")
    if not args.quiet:
        console.print(Text(describe_policy(spec, args)), highlight=False, soft_wrap=True)
    backend = backend_factory(args.backend, args, spec.required_imports())()
    try:
        policy = LazyPolicy(spec, theorem)  # the session opens (and fails fast) before a large model loads
        if planner is not None:
            return run_planned(args, console, theorem, backend, policy, config, planner)
        with ProgressDisplay(console, theorem.name, mode=progress_mode(args, console)) as display:
            if args.sessions > 1:
                result = prove_overlapped(theorem, backend=backend, policy=policy, config=config,
                                          sessions=args.sessions, observer=display)
            else:
                result = prove(theorem, backend=backend, policy=policy, config=config, observer=display)
    finally:
        backend.close()
    write_graph(result, args.graph_out)
    write_html(result, args.html, console)
    cause = error_cause_of(result)
    if args.json:
        print(json.dumps(result.as_dict() | {"error_cause": cause and cause.as_dict()}, ensure_ascii=False))
    else:
        print_result(console, result)
    if cause is not None and not result.proved:
        console.print(Text.assemble(("note: ", "bold yellow"), cause.sentence()), soft_wrap=True)
    return EXIT_PROVED if result.proved else EXIT_UNPROVED


def progress_mode(args: argparse.Namespace, console: Console) -> str:
    """A live line on a terminal, a periodic status line with -v elsewhere, nothing with --quiet."""
    if args.quiet:
        return "off"
    if console.is_terminal:
        return "live"
    return "lines" if args.verbose else "off"


def run_planned(args: argparse.Namespace, console: Console, theorem: Any, backend: Any, policy: Any,
                config: SearchConfig, planner: PlannerSettings) -> int:
    from planner import prove_with_planner

    label = f"{theorem.name} (planned; the search of the current subgoal)"
    with ProgressDisplay(console, label, mode=progress_mode(args, console)) as display:
        result = prove_with_planner(theorem, backend=backend, policy=policy, search_config=config,
                                    planner_config=planner.planner, client_config=planner.client,
                                    observer=display)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        print_planned_result(console, result)
    return EXIT_PROVED if result.proved else EXIT_UNPROVED


def run_sweep_command(args: argparse.Namespace, console: Console) -> int:
    from prover.sweep import run_sweep

    assistant = BACKENDS[args.backend].assistant
    spec = policy_spec(args, assistant)
    try:
        sweep = config_from_args(SweepConfig, args)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    load_benchmark(resolve_benchmark(args.benchmark), sweep.split)  # a bad file or split: before any start
    console.print(Text(describe_policy(spec, args)), highlight=False, soft_wrap=True)
    config = search_config(args, spec)
    imports = spec.required_imports()
    factory = backend_factory(args.backend, args, imports)
    check_backend_starts(args.backend, factory)
    sweep, budget = apply_memory_budget(sweep, args.backend, backend_config(factory), args.sessions)
    if budget.lowered:
        console.print(f"[yellow]memory:[/] {budget.message()}", highlight=False)
    preflight(spec)
    planner = planner_settings(args)
    if planner is not None:
        if not BACKENDS[args.backend].plans:
            raise PlanningUnsupportedError(args.backend)
        check_planner(planner)
    policy_factory: Any = spec
    if spec.kind == "model":
        policy_factory = start_served_policy(args, spec, sweep)
    try:
        summary, paths = run_sweep(sweep, benchmark=args.benchmark, backend_factory=factory,
                                   policy_factory=policy_factory, search_config=config,
                                   backend_name=args.backend, sessions=args.sessions,
                                   planner=planner, console=console, imports=imports)
    finally:
        if isinstance(policy_factory, ServedPolicy):
            policy_factory.shutdown()
    print_sweep_summary(console, summary, paths)
    return 0


def check_planner(settings: PlannerSettings) -> None:
    """Before a planned sweep: the planner model is named and its HTTP endpoint answers (raises
    ``PlannerConfigError`` or ``PlannerEndpointError``), so no theorem fails one by one for it."""
    from planner import make_planner_client

    if settings.client.provider != "openai":
        return  # a local model: each worker loads it; a bad one fails the first task, which ends the sweep
    client = make_planner_client(settings.client)
    try:
        client.check_reachable()
    finally:
        client.close()


def run_benchmarks_command(args: argparse.Namespace, console: Console) -> int:
    from prover.sweep.benchmark_list import known_benchmarks

    infos = known_benchmarks(args.folders)
    if args.json:
        for info in infos:
            print(json.dumps({"name": info.name, "path": str(info.path), "splits": info.splits,
                              "rows": info.rows, "invalid": info.invalid, "error": info.error}))
    else:
        print_benchmarks(Console(), infos)
    return 0


def run_report_command(args: argparse.Namespace, console: Console) -> int:
    from prover.sweep import report_from_folder

    summary, paths = report_from_folder(args.out)
    print_sweep_summary(console, summary, paths)
    return 0


def start_served_policy(args: argparse.Namespace, spec: PolicySpec, sweep: SweepConfig) -> ServedPolicy:
    """Start the batching policy servers (each loads the model once, inside it) for a sweep's workers."""
    from prover.policy_server import serve_model
    from prover.sweep.runner import connect_ray

    server = server_config(args)
    connect_ray(sweep.address)
    return serve_model(spec.model, server, spec.label)


def server_config(args: argparse.Namespace) -> Any:
    """The ``--server-*`` options as a ``PolicyServerConfig``; raises ``InputError``."""
    from prover.policy_server import PolicyServerConfig

    try:
        return config_from_args(PolicyServerConfig, args, prefix="server")
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def add_server_options(parser: argparse.ArgumentParser) -> None:
    from prover.policy_server import PolicyServerConfig

    server = parser.add_argument_group(
        "policy server", "with a model policy, batching server actors (--server-replicas) serve every worker")
    add_config_options(server, PolicyServerConfig, prefix="server")


def run_doctor(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when every check passed, 1 otherwise."""
    from rich.table import Table

    from prover.doctor import doctor_report

    checks = doctor_report(args.project_dir)
    table = Table(title="prover doctor")
    for column in ("", "check", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row("[green]ok[/]" if check.ok else "[red]missing[/]", check.name, check.detail)
    out = Console()
    out.print(table)
    fixes = [check for check in checks if not check.ok and check.fix]
    if fixes:
        out.print("To fix:")
        for check in fixes:  # plain lines, so that long commands stay whole and copyable
            print(f"  {check.name}: {check.fix}")
    return 0 if all(check.ok for check in checks) else 1


def run_setup(args: argparse.Namespace, console: Console) -> int:
    from prover.setup_lean import setup_lean

    steps = setup_lean(args.project_dir, dry_run=args.dry_run)
    for step in steps:
        print(step.command if args.dry_run else f"done: {step.name}")
    return 0


def write_graph(result: SearchResult, path: Path | None) -> None:
    if path is None or result.graph is None:
        return
    import networkx as nx

    data = nx.node_link_data(result.graph.to_networkx(), edges="edges")
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, default=str))


def write_html(result: SearchResult, path: Path | None, console: Console) -> None:
    from prover.explorer import write_result_page

    if path is not None and write_result_page(result, path) is not None:
        console.print(Text(f"search graph: {path}"), highlight=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    retries = setup_logging(console, args.verbose)
    try:
        return args.handler(args, console)
    except (InputError, InvalidTheoremError, SetupError, PlannerConfigError,
            PlanningUnsupportedError) as exc:
        print_error(console, exc)
        return EXIT_INPUT
    except (BackendUnavailableError, ModelLoadError, PlannerError, WorkerStartError,
            PolicyServerError, EndpointError) as exc:
        print_error(console, exc)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        report_retries(retries)


def print_error(console: Console, exc: BaseException) -> None:
    """``error: MESSAGE``, the message verbatim: a proof assistant's ``[term]`` is text, not markup."""
    console.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
