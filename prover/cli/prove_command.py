"""``prover prove``: read one theorem (text, or a file and a name), search for its proof (or plan it with
``--planner``), print the result and write the files the options name."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from prover.cli.error_causes import error_cause_of, rejection_of
from prover.cli.exit_status import EXIT_INPUT, EXIT_PROVED, EXIT_UNPROVED, print_error
from prover.cli.options import output_file
from prover.cli.planner import print_planned_result, write_planned_html
from prover.cli.progress_display import ProgressDisplay
from prover.cli.render import print_result, write_graph, write_html
from prover.cli.spec import add_run_options, describe_policy, policy_chosen, print_config, run_spec
from prover.planner_settings import PlannerSettings
from prover.policies.spec import LazyPolicy
from prover.run_spec import RunSpec
from prover.sweep.benchmark_list import check_benchmark_assistant
from prover.theorem_input import InputError, read_text, require_file, theorem_from_file, theorem_from_text
from search import Backend, InvalidTheoremError, Policy, Theorem, prove


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
                     help="no policy line, no live progress line (on a terminal) and no periodic status "
                          "lines (with -v); the result, notes and errors are still printed")
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
