"""Human-readable output of search results."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from prover.atomic_files import write_text_atomic
from prover.sweep.benchmark_list import BenchmarkInfo
from prover.sweep.report import SweepSummary
from search import SearchResult


def plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def write_graph(result: SearchResult, path: Path | None) -> None:
    """``--graph-out``: the explored graph as networkx node-link JSON (written atomically)."""
    if path is None or result.graph is None:
        return
    from prover.explorer import node_link

    write_text_atomic(path, json.dumps(node_link(result.graph), ensure_ascii=False, default=str,
                                       allow_nan=False))


def write_html(result: SearchResult, path: Path | None, console: Console) -> None:
    """``--html``: the search-graph explorer's page of the result."""
    from prover.explorer import write_result_page

    if path is not None and write_result_page(result, path) is not None:
        console.print(Text(f"search graph: {path}"), highlight=False)


def stats_table(result: SearchResult) -> Table:
    stats = result.stats
    table = Table(title=f"{result.theorem}: {result.stop_reason.value}", show_header=False)
    rows = [
        ("expansions", f"{stats.expansions}"),
        ("tactics run", f"{stats.tactic_calls} ({stats.errors} errors, {stats.timeouts} timeouts, "
                        f"{stats.filtered} filtered)"),
        ("states", f"{stats.new_states} new, {stats.duplicate_states} merged duplicates"),
        ("proofs found", f"{stats.proofs_found} ({stats.proofs_rejected} rejected by verification)"),
        ("time", f"{stats.wall_seconds:.2f} s: model {stats.model_seconds:.2f} s, proof assistant "
                 f"{stats.tactic_seconds:.2f} s, verification {stats.verify_seconds:.2f} s"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def print_result(console: Console, result: SearchResult) -> None:
    """The verified proof on stdout (so it can be piped); the statistics on ``console``."""
    if result.proof is not None:
        print(result.proof.text)
        steps = len(result.proof.tactics)
        console.print(f"[bold green]proved[/] {result.theorem} ({steps} {plural(steps, 'tactic')}, verified)",
                      highlight=False)
        axioms = result.proof.verdict.axioms
        console.print("axioms: " + (", ".join(axioms) if axioms else "none"), highlight=False)
    else:
        console.print(f"[bold red]not proved:[/] {result.theorem} ({result.stop_reason.value})",
                      highlight=False)
    console.print(stats_table(result))


def print_sweep_summary(console: Console, summary: SweepSummary, paths: dict[str, Path]) -> None:
    table = Table(title=f"proved {summary.proved} of {summary.total - summary.invalid} valid theorems "
                        f"({summary.pass_rate:.1%})")
    for column in ("split", "theorems", "valid", "proved", "pass rate"):
        table.add_column(column)
    for split, row in summary.by_split.items():
        table.add_row(split or "-", str(row["total"]), str(row["valid"]), str(row["proved"]),
                      f"{row['pass_rate']:.1%}")
    console.print(table)
    if summary.pass_at:
        console.print(", ".join(f"pass@{k} {rate:.1%}" for k, rate in summary.pass_at.items()))
    if summary.invalid or summary.errors or summary.pending:
        finished = summary.total - summary.invalid - summary.pending
        so_far = (f" (proved {summary.proved} of the {finished} finished: {summary.proved / finished:.1%})"
                  if summary.pending and finished else "")
        console.print(f"{summary.invalid} invalid {plural(summary.invalid, 'statement')}, {summary.errors} "
                      f"{plural(summary.errors, 'error')}, {summary.pending} with attempts still to run"
                      f"{so_far}")
    console.print("report: " + ", ".join(str(p) for p in paths.values()), highlight=False)


def print_benchmarks(console: Console, infos: list[BenchmarkInfo]) -> None:
    """``prover benchmarks``: one row per benchmark (``prover.sweep.benchmark_list.BenchmarkInfo``): its
    name where ``prover sweep`` knows one, else its path."""
    table = Table(title="benchmarks (prover sweep NAME, or PATH)")
    table.add_column("benchmark", overflow="fold", min_width=24)
    table.add_column("for")
    table.add_column("splits", overflow="fold", max_width=60)  # or why the file cannot be read
    table.add_column("rows")
    table.add_column("invalid", min_width=7)
    for info in infos:
        splits = "\n".join(f"{split or '(none)'}: {count}" for split, count in info.splits.items())
        error = (info.error or "").removeprefix(f"{info.path}:").strip()  # the row names the file already
        shown = Text(f"cannot be read: line {error}" if error[:1].isdigit() else f"cannot be read: {error}",
                     style="red") if info.error else Text(splits)
        table.add_row(Text(info.name or str(info.path)), info.assistant or "-", shown,
                      "-" if info.error else str(info.rows), str(info.invalid or "-"))
    console.print(table)
