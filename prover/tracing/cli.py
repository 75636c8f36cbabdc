"""``prover trace``: turn real proofs into the step dataset (Coq files through coqtop, or a LeanDojo-traced
Lean repository), resumably, with a progress bar and a summary.

``add_trace_command(commands)`` adds the sub-command to ``prover``'s parser.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from prover.cli.options import ProverArgumentParser, add_config_options, config_from_args, output_folder
from prover.theorem_input import InputError
from prover.tracing.coq_trace_job import CoqTraceConfig
from prover.tracing.runner import TraceSummary
from search.backends.coq.config import CoqBackendConfig

EXIT_NOTHING_TRACED = 1  # this run tried files and traced none to its end (each stopped early or died)

# the backend settings a replay uses (the rest are about searches and verification)
_COQ_OPTIONS_USED = ("coqtop", "coq_args", "start_timeout", "memory_limit_mb", "printing_depth")


def add_trace_command(commands: argparse._SubParsersAction[ProverArgumentParser]) -> None:
    parser = commands.add_parser(
        "trace", help="trace real proofs into a step dataset (Coq files, or a LeanDojo-traced repository)",
        description="Replay every proof of Coq .v files (default: the installed standard library) through "
        "coqtop, or read a LeanDojo-traced Lean repository, and append one row per tactic (state before, "
        "tactic, state after) to a Parquet dataset. Files already in the dataset are skipped, so a rerun "
        "resumes. Coq files are traced in parallel on Ray. A LeanDojo trace is read offline from the "
        "repository's own .lake/build/ir/**/*.trace.xml files; its dependencies' traces (.lake/packages) "
        "are not converted. Exit status: 0 when files were traced (or all were traced before), 1 when "
        "this run traced none of the files it tried (each stopped early, or its task died), 2 for bad "
        "input, 3 when coqtop does not start or lean_dojo cannot be imported.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="coq: .v files or folders (default: the standard library's theories/); "
                             "dojo: the folder of a LeanDojo-traced repository")
    parser.add_argument("--backend", choices=("coq", "dojo"), default="coq",
                        help="coq: replay through coqtop; dojo: convert a LeanDojo trace (default: coq)")
    parser.add_argument("--out", type=output_folder, required=True, metavar="DIR", help="the dataset folder")
    parser.add_argument("--source", help="the corpus name in the rows, which resuming is keyed on "
                        "(default: coq-stdlib for the standard library, else the folder's name; dojo: "
                        "the repository's `git remote get-url origin`@HEAD commit, credentials removed, "
                        "and --source is required when it has no origin URL)")
    parser.add_argument("--trace-name", help="names this trace in the rows (default: BACKEND-DATE)")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="take the N largest files of the paths (dojo: of the repository's own "
                             "traced .lean files); those already traced are then skipped, so a rerun "
                             "with the same N traces no more")
    parser.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS or a local Ray)")
    parser.add_argument("--sentence-timeout", type=float, default=120.0, metavar="FLOAT",
                        help="time limit of one Coq sentence in seconds; past it the file's remaining "
                             "proofs are skipped (default: 120)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object: this_run (what this run did: files "
                             "traced, already traced and skipped, stopped early; proofs and rows written) "
                             "and, under the other keys, the totals of the whole dataset")
    skipped = tuple(f.name for f in dataclasses.fields(CoqBackendConfig) if f.name not in _COQ_OPTIONS_USED)
    add_config_options(parser.add_argument_group("coq", "how coqtop runs (as for searches)"),
                       CoqBackendConfig, prefix="coq", skip=skipped)
    parser.set_defaults(handler=run_trace_command)


def run_trace_command(args: argparse.Namespace, console: Console) -> int:
    from prover.tracing.coq_files import TraceInputError
    from prover.tracing.dataset import DatasetError

    trace = args.trace_name or f"{args.backend}-{datetime.date.today().isoformat()}"
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be >= 1, got {args.limit}")
    try:
        if args.backend == "dojo":
            summary = _trace_dojo(args, trace, console)
        else:
            summary = _trace_coq(args, trace, console)
    except (TraceInputError, DatasetError) as exc:
        raise InputError(str(exc)) from exc
    print_summary(console, summary, args.out, as_json=args.json)
    return EXIT_NOTHING_TRACED if summary.nothing_traced else 0


def _trace_coq(args: argparse.Namespace, trace: str, console: Console) -> TraceSummary:
    from prover.backend_check import check_backend_starts
    from prover.backends import BackendSettings
    from prover.sweep.runner import connect_ray
    from prover.tracing.coq_files import find_jobs
    from prover.tracing.dataset import Dataset
    from prover.tracing.runner import check_paths, run_trace

    try:
        backend = config_from_args(CoqBackendConfig, args, prefix="coq")
        config = CoqTraceConfig(backend=backend, sentence_timeout=args.sentence_timeout)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    jobs = find_jobs(args.paths, trace=trace, source=args.source, coqc=backend.coqc)[: args.limit]
    dataset = Dataset(args.out)
    check_paths(jobs, dataset)  # a file traced before under another name: refused before Ray starts
    # coqtop that cannot start is one error (exit 3, as for prove), not every file "stopped early"
    check_backend_starts("coq", BackendSettings("coq", backend))
    connect_ray(args.address)
    return run_trace(jobs, dataset, config, console=console)


def _trace_dojo(args: argparse.Namespace, trace: str, console: Console) -> TraceSummary:
    """Read the repository's own ``*.trace.xml`` files offline (``prover.tracing.dojo``): lean_dojo that
    cannot be imported is exit 3, a folder that is no traced repository or whose corpus cannot be named
    (no ``origin`` URL and no ``--source``) exit 2."""
    from prover.tracing.dataset import Dataset
    from prover.tracing.dojo import DojoTraceError, find_traced_repo, lean_dojo_loader, trace_dojo

    if len(args.paths) != 1:
        raise InputError("--backend dojo takes exactly one PATH: the LeanDojo-traced repository's folder")
    path = Path(args.paths[0])
    if not path.is_dir():
        raise DojoTraceError(f"{path}: no such folder")
    load = lean_dojo_loader()  # BackendUnavailableError: exit 3
    repo = find_traced_repo(path, source=args.source)
    return trace_dojo(repo, Dataset(args.out), trace=trace, load=load, limit=args.limit, console=console)


def print_summary(console: Console, summary: TraceSummary, out: Path, *, as_json: bool = False) -> None:
    """What this run did (one line), then the dataset's totals (every trace into it) and what went wrong
    in it; with ``as_json`` one JSON object (``TraceSummary.as_dict``)."""
    if as_json:
        print(json.dumps(summary.as_dict()))
        return
    Console().print(Text(summary.run.line()))
    table = Table(title=f"dataset totals: {out}", caption="every trace into the dataset, earlier runs too")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files", str(summary.files))
    table.add_row("files stopped early", str(summary.file_errors))
    table.add_row("theorems", str(summary.theorems))
    for status, count in sorted(summary.proofs.items()):
        table.add_row(f"  {status}", str(count))
    table.add_row("steps (rows)", str(summary.rows))
    table.add_row("coverage (traced / Qed+Defined)", f"{summary.coverage:.1%}")
    if summary.failed_loads:
        table.add_row("files whose Require/Load failed", str(summary.failed_loads))
    Console().print(table)
    if summary.stopped:
        _print_stopped(summary)
    if summary.failed_loads:
        Console(stderr=True).print(
            f"[yellow]{summary.failed_loads} file(s) could not load what they Require[/]: their proofs that "
            "need it failed. The trace replays proofs on compiled libraries: build the development "
            "first (coq_makefile -f _CoqProject -o Makefile && make, or coqc each file in dependency "
            "order), and give its load path: a _CoqProject above the files, or --coq-coq-args "
            "'-R DIR NAME' (the units' records list each failed command).")
    if summary.skipped_reasons:
        reasons = Table(title="why proofs were skipped (most common)")
        reasons.add_column("reason")
        reasons.add_column("proofs", justify="right")
        for reason, count in summary.skipped_reasons.items():
            reasons.add_row(Text(reason), str(count))  # Text: ``coqtop[a.v]`` is no markup
        Console().print(reasons)


def _print_stopped(summary: TraceSummary) -> None:
    """Name the files whose replay stopped early, with why (the first few, then how many more)."""
    stopped = Table(title="files that stopped early (a rerun traces them again)")
    stopped.add_column("file")
    stopped.add_column("why")
    for unit, error in summary.stopped:
        stopped.add_row(Text(unit), Text(error))
    if summary.file_errors > len(summary.stopped):
        stopped.add_row(Text(f"... and {summary.file_errors - len(summary.stopped)} more"), "")
    Console().print(stopped)
