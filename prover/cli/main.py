"""The ``prover`` command line: prove one theorem, check the installation, set Lean up.

Errors a user can cause (bad input, a missing proof assistant, a model that cannot load) are turned
into one-line messages here, at the one boundary, with exit codes: 0 proved / done, 1 not proved,
2 bad input, 3 backend or model unavailable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from planner import PlannerConfigError, PlannerError, PlanningUnsupportedError
from planner.endpoint import EndpointError
from prover.backend_check import check_backend_starts
from prover.cli import help_text
from prover.cli.config_file import add_config_file_options, apply_config_file
from prover.cli.doctor import BACKEND_NEEDS
from prover.cli.error_causes import error_cause_of, rejection_of
from prover.cli.logs import report_retries, setup_logging
from prover.cli.options import (
    ProverArgumentParser,
    add_config_options,
    add_verbose_option,
    config_from_args,
    output_file,
)
from prover.cli.planner import add_planner_options, print_planned_result, write_planned_html
from prover.cli.progress_display import ProgressDisplay
from prover.cli.render import print_benchmarks, print_result, print_sweep_summary, write_graph, write_html
from prover.cli.setup_lean import SetupError
from prover.cli.short_help import set_common_options
from prover.cli.signals import Stop, stop_signals
from prover.cli.spec import (
    Problems,
    add_run_options,
    add_server_options,
    describe_policy,
    policy_chosen,
    print_config,
    run_spec,
)
from prover.expert.cli import add_train_command
from prover.parallel.policy_server import PolicyServerError
from prover.planner_settings import PlannerSettings
from prover.policies.hf_policy_config import ModelLoadError
from prover.policies.spec import LazyPolicy, ServedPolicy, preflight
from prover.run_spec import RunSpec, config_table
from prover.sweep.benchmark import load_benchmark, resolve_benchmark
from prover.sweep.benchmark_list import check_benchmark_assistant
from prover.sweep.config import SweepConfig
from prover.sweep.errors import WorkerStartError
from prover.sweep.memory_budget import apply_memory_budget
from prover.theorem_input import InputError, read_text, require_file, theorem_from_file, theorem_from_text
from prover.tracing.cli import add_trace_command
from search import (
    Backend,
    BackendUnavailableError,
    InvalidTheoremError,
    Policy,
    PriorityError,
    Theorem,
    prove,
)
from search.errors import ProverError

EXIT_PROVED, EXIT_UNPROVED, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = ProverArgumentParser(prog="prover", description=help_text.PROVER_DESCRIPTION,
                                  epilog=help_text.PROVER_EPILOG, formatter_class=help_text.FORMATTER)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prove_parser = commands.add_parser(
        "prove", help="prove one theorem", description=help_text.PROVE_DESCRIPTION,
        epilog=help_text.PROVE_EPILOG, formatter_class=help_text.FORMATTER)
    add_prove_options(prove_parser)
    add_verbose_option(prove_parser)
    add_planner_options(prove_parser)
    add_config_file_options(prove_parser)
    set_common_options(prove_parser, help_text.PROVE_COMMON)
    prove_parser.set_defaults(handler=run_prove)
    sweep_parser = commands.add_parser(
        "sweep", help="prove every theorem of a benchmark on Ray", description=help_text.SWEEP_DESCRIPTION,
        epilog=help_text.SWEEP_EPILOG, formatter_class=help_text.FORMATTER)
    sweep_parser.add_argument("benchmark", metavar="BENCH",
                              help="a .jsonl benchmark file, the name of one (e.g. coq_basic), or a "
                                   "folder in the miniF2F-rocq layout (DIR/test/*.v, DIR/valid/*.v; "
                                   "--split picks the folder)")
    add_config_options(sweep_parser.add_argument_group("sweep"), SweepConfig)
    add_verbose_option(sweep_parser)
    add_run_options(sweep_parser)
    add_server_options(sweep_parser)
    add_planner_options(sweep_parser)
    add_config_file_options(sweep_parser)
    set_common_options(sweep_parser, help_text.SWEEP_COMMON)
    sweep_parser.set_defaults(handler=run_sweep_command)
    report_parser = commands.add_parser(
        "report", help="write a sweep's (or a training run's) report from what it has finished "
                       "(while it runs, or after a stop)",
        description="Rewrite report.md, report.json and the plot of the sweep in OUT from its results so "
        "far, or of the `prover train` run in OUT from its finished rounds, without running anything; a "
        "running sweep or run is not disturbed.")
    report_parser.add_argument("out", metavar="OUT", type=Path,
                               help="the --out folder of a sweep or of a `prover train` run")
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
        "doctor", help="report what is installed for proving, and how to fix what is missing",
        epilog=help_text.DOCTOR_EPILOG, formatter_class=help_text.FORMATTER)
    doctor_parser.add_argument("--project-dir", type=Path, metavar="DIR",
                               help="the Lake project to check (default: lean_project/ of this repository)")
    doctor_parser.add_argument("--backend", choices=sorted(BACKEND_NEEDS), default=None,
                               help="exit 0 when this backend is ready, whatever the others lack")
    doctor_parser.set_defaults(handler=run_doctor)
    setup_parser = commands.add_parser(
        "setup", help="install Lean (elan), Mathlib's build cache and the REPL (needs internet)",
        epilog=help_text.SETUP_EPILOG, formatter_class=help_text.FORMATTER)
    setup_parser.add_argument("--project-dir", type=Path, metavar="DIR",
                              help="the Lake project to build (default: lean_project/ of this repository)")
    setup_parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    setup_parser.set_defaults(handler=run_setup)
    return parser


def add_prove_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("theorem", "the statement as text, or a file and a name")
    source.add_argument("statement", nargs="?", help="the statement, e.g. 'theorem t (n : ℕ) : n + 0 = n :='")
    source.add_argument("--header", default="", help="text before the statement: imports, opens, defs")
    source.add_argument("--header-file", type=Path, metavar="FILE", help="read the header from FILE")
    source.add_argument("--file", type=Path, metavar="FILE",
                        help="a .lean, .v or benchmark .jsonl file holding the theorem (with --name)")
    source.add_argument("--name", help="the theorem's name in --file (default for a .v file: the file's "
                                       "name, as in miniF2F-rocq)")
    add_run_options(parser, single=True)
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as one JSON object")
    out.add_argument("--graph-out", type=output_file, metavar="FILE",
                     help="write the explored graph as node-link JSON (networkx) to FILE")
    out.add_argument("--quiet", action="store_true",
                     help="no live progress line (on a terminal) and no periodic status lines (with -v)")
    out.add_argument("--html", type=output_file, metavar="FILE",
                     help="write an interactive page of the explored graph to FILE (one self-contained "
                          "HTML file, works offline): states, tactics with scores, errors, the proof "
                          "path, a replay of the search. With --planner, FILE shows the plan and links "
                          "one such page per search, in a folder beside it (plan.html: plan.searches/)")


def read_theorem(args: argparse.Namespace, assistant: str) -> Theorem:
    header = args.header
    if args.header and args.header_file:
        raise InputError("give --header or --header-file, not both")
    if args.file is not None and (args.header or args.header_file):
        raise InputError("with --file give no --header or --header-file: the file holds the theorem's "
                         "header (a .jsonl row its `header`, a .v or .lean file the text before the theorem)")
    if args.header_file:
        require_file(args.header_file, "--header-file")
        header = read_text(args.header_file)
    if args.file is not None:
        require_file(args.file, "--file")
        if args.file.suffix == ".v" and assistant != "coq":
            raise InputError(f"--file {args.file}: a .v file holds a Coq theorem; add --backend coq")
        if args.file.suffix == ".lean" and assistant == "coq":
            raise InputError(f"--file {args.file}: a .lean file holds a Lean theorem; use --backend repl "
                             "or --backend dojo")
        if args.file.suffix == ".jsonl":
            check_benchmark_assistant(args.file, assistant, f"--file {args.file}")
        if args.statement:
            raise InputError("with --file give no statement text")
        if not args.name and args.file.suffix != ".v":
            raise InputError("with --file give --name (a .v file needs none when its theorem is named "
                             "like the file)")
        return theorem_from_file(args.file, args.name or None, assistant)
    if not args.statement:
        raise InputError("give the statement as text, or --file FILE --name NAME")
    return theorem_from_text(args.statement, header, assistant)


def run_prove(args: argparse.Namespace, console: Console) -> int:
    spec = run_spec(args)
    if args.print_config:
        return print_config(spec.tables(), spec)
    theorem = read_theorem(args, spec.backend.spec.assistant)
    if not args.quiet:
        console.print(Text(describe_policy(spec.policy, chosen=policy_chosen(args))), highlight=False,
                      soft_wrap=True)
    backend = spec.backend()
    try:
        policy = LazyPolicy(spec.policy, theorem)  # the session opens (and fails fast) before a large model
        if spec.planner is not None:
            return run_planned(args, console, theorem, backend, policy, spec, spec.planner)
        with ProgressDisplay(console, theorem.name, mode=progress_mode(args, console)) as display:
            result = prove(theorem, backend=backend, policy=policy, config=spec.search,
                           sessions=spec.driver.sessions, observer=display)
    except InvalidTheoremError as exc:
        if args.file is None:
            raise
        whose = "" if args.file.suffix == ".jsonl" else " (its header: the file's text before the theorem)"
        raise InputError(f"{args.file}: {exc}{whose}") from exc
    finally:
        backend.close()
    cause = error_cause_of(result, spec.policy.kind)
    rejected = None if result.proved else rejection_of(result)
    if args.json:
        extra = {"policy": spec.policy.label, "error_cause": cause and cause.as_dict(), "rejected": rejected}
        print(json.dumps(result.as_dict() | extra, ensure_ascii=False))
    else:
        print_result(console, result)
    if rejected is not None:
        console.print(Text.assemble(("note: ", "bold yellow"), rejected), soft_wrap=True)
    if cause is not None and not result.proved:
        console.print(Text.assemble(("note: ", "bold yellow"), cause.sentence()), soft_wrap=True)
    written = write_outputs(console,
                            ("--graph-out", args.graph_out, lambda: write_graph(result, args.graph_out)),
                            ("--html", args.html, lambda: write_html(result, args.html, console)))
    if not written:
        return EXIT_INPUT
    return EXIT_PROVED if result.proved else EXIT_UNPROVED


def write_outputs(console: Console, *outputs: tuple[str, Path | None, Callable[[], None]]) -> bool:
    """Write the files the options name, after the result is out (a path that cannot be written never
    costs a finished search); each failure is an error line naming the option. Whether all were written."""
    written = True
    for option, path, write in outputs:
        if path is None:
            continue
        try:
            write()
        except OSError as exc:
            print_error(console, InputError(f"{option} {path}: could not write it: {exc.strerror or exc}"))
            written = False
    return written


def progress_mode(args: argparse.Namespace, console: Console) -> str:
    """A live line on a terminal, a periodic status line with -v elsewhere, nothing with --quiet."""
    if args.quiet:
        return "off"
    if console.is_terminal:
        return "live"
    return "lines" if args.verbose else "off"


def run_planned(args: argparse.Namespace, console: Console, theorem: Theorem, backend: Backend,
                policy: Policy, spec: RunSpec, planner: PlannerSettings) -> int:
    from planner import prove_with_planner

    with ProgressDisplay(console, theorem.name, mode=progress_mode(args, console)) as display:
        result = prove_with_planner(theorem, backend=backend, policy=policy, search_config=spec.search,
                                    planner_config=planner.planner, client_config=planner.client,
                                    observer=display,
                                    plan_observer=lambda step: display.set_stage(step.line()))
    cause = None if result.proved else error_cause_of(result, spec.policy.kind)
    if args.json:
        print(json.dumps(result.as_dict() | {"error_cause": cause and cause.as_dict()}, ensure_ascii=False))
    else:
        print_planned_result(console, result)
    if cause is not None:
        console.print(Text.assemble(("note: ", "bold yellow"), cause.sentence()), soft_wrap=True)
    page = ("--html", args.html, lambda: write_planned_html(result, args.html, console))
    if not write_outputs(console, page):
        return EXIT_INPUT
    return EXIT_PROVED if result.proved else EXIT_UNPROVED


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
    load_benchmark(benchmark, sweep.split, spec.backend.spec.assistant)
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
                                   console=console)
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


def start_served_policy(spec: RunSpec, sweep: SweepConfig) -> ServedPolicy:
    """Start the batching policy servers (each loads the model once, inside it) for a sweep's workers."""
    from prover.parallel.policy_server import PolicyServerConfig, serve_model
    from prover.sweep.runner import connect_ray

    assert spec.policy.model is not None
    connect_ray(sweep.address)
    return serve_model(spec.policy.model, spec.server or PolicyServerConfig(), spec.policy.label)


def run_doctor(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when every required check passed (with ``--backend``: that backend's), 1 otherwise (a
    missing GPU is reported, not a failure); a line says which backends are ready, so that a Coq-only
    machine reads as ready for Coq."""
    from rich.table import Table

    from prover.cli.doctor import backend_readiness, doctor_report

    checks = doctor_report(args.project_dir)
    table = Table(title="prover doctor")
    for column in ("", "check", "detail"):
        table.add_column(column)
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[yellow]absent[/]" if check.optional else "[red]missing[/]"
        table.add_row(mark, check.name, Text(check.detail))
    out = Console()
    out.print(table)
    fixes = [check for check in checks if not check.ok and check.fix]
    if fixes:
        out.print("To fix:")
        for check in fixes:  # plain lines, so that long commands stay whole and copyable
            print(f"  {check.name}: {check.fix}")
    readiness = backend_readiness(checks)
    ready = [backend for backend, missing in readiness.items() if not missing]
    not_ready = [f"{backend} (needs {', '.join(missing)})"
                 for backend, missing in readiness.items() if missing]
    print("backends ready: " + (", ".join(ready) or "none")
          + (f"; not ready: {'; '.join(not_ready)}" if not_ready else ""))
    if args.backend is not None:
        return 0 if not readiness[args.backend] else 1
    return 0 if all(check.ok or check.optional for check in checks) else 1


def run_setup(args: argparse.Namespace, console: Console) -> int:
    from prover.cli.setup_lean import setup_lean

    steps = setup_lean(args.project_dir, dry_run=args.dry_run)
    for step in steps:
        print(step.command if args.dry_run else f"done: {step.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    retries = setup_logging(console, args.verbose)
    stop = Stop()

    def failed(exc: BaseException, code: int) -> int:
        report_retries(retries)  # the retries that led to the error come before it
        print_error(console, exc)
        if getattr(args, "json", False):  # a script reading --json's one object gets one on failure too
            print(json.dumps({"error": str(exc), "exit_status": code}, ensure_ascii=False))
        return code

    try:
        with stop_signals() as stop:
            args = apply_config_file(parser, args, argv)
            return args.handler(args, console)
    except (InputError, InvalidTheoremError, PlannerConfigError,
            PlanningUnsupportedError, PriorityError) as exc:
        return failed(exc, EXIT_INPUT)
    except (BackendUnavailableError, ModelLoadError, PlannerError, WorkerStartError, SetupError,
            PolicyServerError, EndpointError) as exc:
        return failed(exc, EXIT_UNAVAILABLE)
    except ProverError as exc:  # any other error raised on purpose (a stage left unfinished, ...)
        return failed(InputError(f"{exc}{resume_hint(args)}"), EXIT_UNAVAILABLE)
    except OSError as exc:  # a full disk, a folder made unwritable: the machine's state, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        return failed(InputError(f"{where}{exc.strerror or exc}{resume_hint(args)}"), EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        console.print(f"{'terminated' if stop.terminated else 'interrupted'}{resume_hint(args)}",
                      highlight=False)
        return 143 if stop.terminated else 130
    finally:
        report_retries(retries)


def resume_hint(args: argparse.Namespace) -> str:
    """For a command that keeps its work in ``--out`` (sweep, train, trace): where it is and that the same
    command resumes; else nothing."""
    out = getattr(args, "out", None)
    if args.handler in (run_prove, run_report_command) or not isinstance(out, (str, Path)) or not str(out):
        return ""
    if not Path(out).is_dir():  # it failed before anything was written
        return "; nothing was written yet"
    return f"; what finished is kept in {out}, and the same command resumes it"


def print_error(console: Console, exc: BaseException) -> None:
    """``error: MESSAGE``, the message verbatim: a proof assistant's ``[term]`` is text, not markup."""
    console.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
