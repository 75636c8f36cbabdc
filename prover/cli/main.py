"""The ``prover`` command line: prove one theorem, check the installation, set Lean up.

Errors a user can cause (bad input, a missing proof assistant, a model that cannot load) are turned
into one-line messages here, at the one boundary, with exit codes: 0 proved / done, 1 not proved,
2 bad input, 3 backend or model unavailable. A reader that closes stdout or stderr early (``| head -1``)
changes neither the work nor the exit code (``prover.cli.pipes``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from planner import PlannerConfigError, PlannerError, PlanningUnsupportedError
from planner.endpoint import EndpointError
from prover.cli import help_text
from prover.cli.config_file import add_config_file_options, apply_config_file
from prover.cli.doctor import BACKEND_NEEDS
from prover.cli.exit_status import EXIT_INPUT, EXIT_UNAVAILABLE, print_error
from prover.cli.install_commands import run_doctor, run_setup
from prover.cli.logs import report_retries, setup_logging
from prover.cli.options import ProverArgumentParser, add_config_options, add_verbose_option
from prover.cli.pipes import closed_pipes_ignored
from prover.cli.planner import add_planner_options
from prover.cli.prove_command import add_prove_options, run_prove
from prover.cli.setup_lean import SetupError
from prover.cli.short_help import set_common_options
from prover.cli.signals import STOPPING, Stop, stop_signals
from prover.cli.spec import add_run_options, add_server_options
from prover.cli.sweep_commands import run_benchmarks_command, run_report_command, run_sweep_command
from prover.expert.cli import add_train_command
from prover.parallel.policy_server import PolicyServerError
from prover.policies.hf_policy_config import ModelLoadError
from prover.sweep.config import SweepConfig
from prover.sweep.errors import WorkerStartError
from prover.theorem_input import InputError
from prover.tracing.cli import add_trace_command
from search import BackendUnavailableError, InvalidTheoremError, PriorityError
from search.errors import ProverError


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
        description="Rewrite report.md, report.html, report.json and solved_vs_budget.png of the sweep in "
        "OUT from its results so far, or the report of the `prover train` run in OUT from its finished "
        "rounds, without running anything; a running sweep or run is not disturbed.")
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
        description=help_text.DOCTOR_DESCRIPTION, epilog=help_text.DOCTOR_EPILOG,
        formatter_class=help_text.FORMATTER)
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


def main(argv: list[str] | None = None) -> int:
    with closed_pipes_ignored():  # `prover ... | head -1`: the command still runs to its own exit code
        return run_command(argv)


def run_command(argv: list[str] | None) -> int:
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
        with stop_signals(STOPPING.get(args.command, STOPPING[None])) as stop:
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


if __name__ == "__main__":
    sys.exit(main())
