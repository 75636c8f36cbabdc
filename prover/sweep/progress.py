"""The driver's side of a running sweep: each result stored as it comes, the next attempt queued, and a
progress bar of the theorems this run covers."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prover.sweep.benchmark import BenchmarkItem
from prover.sweep.config import SweepConfig
from prover.sweep.graph_pages import GRAPH_FIELD, write_theorem_page
from prover.sweep.report import FINAL, next_attempt
from prover.sweep.store import ResultStore
from prover.sweep.worker import Task


def run_with_progress(pool: Any, queue: deque[Task], store: ResultStore, items: list[BenchmarkItem],
                      config: SweepConfig, console: Console | None) -> None:
    """Run ``queue`` on ``pool``, appending each result to ``store`` (its search graph drawn as a page
    when ``config.graph_pages``) and queueing the theorem's next attempt until it has a final verdict or
    none is left; the bar (on ``console``, none without one) counts the finished theorems of ``items``."""
    names = {item.theorem.name for item in items}  # the theorems this run covers: the bar's total
    records = [r for r in store.records if r["theorem"] in names]
    proved = {r["theorem"] for r in records if r["status"] == "proved"}
    finished = {r["theorem"] for r in records if r["status"] in FINAL}
    invalid = {r["theorem"] for r in records if r["status"] == "invalid"}
    judged: dict[str, set[int]] = {}  # theorem -> its attempts that reached a verdict
    for r in records:
        if r["status"] != "error":
            judged.setdefault(r["theorem"], set()).add(r["attempt"])
    finished |= {name for name, attempts in judged.items() if next_attempt(attempts, config.attempts) is None}
    started, done_now = time.monotonic(), 0
    progress = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("done ·"),
                        TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                        console=console or Console(stderr=True), disable=console is None)

    def status(running: int) -> str:
        rate = done_now / max(time.monotonic() - started, 1e-9) * 60
        shown = f", {len(invalid)} invalid" if invalid else ""
        return (f"{len(proved)} proved of {len(finished - invalid)} valid{shown}, {running} running, "
                f"{rate:.1f} attempts/min")

    with progress:
        bar = progress.add_task("sweep", total=len(items), completed=len(finished), status=status(0))

        def on_result(task: Task, record: dict[str, Any]) -> None:
            nonlocal done_now
            graph = record.pop(GRAPH_FIELD, None)  # drawn as a page, not stored with the results
            store.append(record)
            if graph is not None and config.graph_pages:
                write_theorem_page(Path(config.out), record, graph)
            done_now += 1
            if record["status"] == "proved":
                proved.add(task.theorem.name)
            elif record["status"] == "invalid":
                invalid.add(task.theorem.name)
            # an error (its worker kept dying, an endpoint stayed down) is no verdict: no next attempt
            # in this run, and a resume runs the same attempt again (pending_tasks)
            name = task.theorem.name
            if record["status"] != "error":
                judged.setdefault(name, set()).add(task.attempt)
            following = next_attempt(judged.get(name, set()), config.attempts)
            if record["status"] in FINAL or record["status"] == "error" or following is None:
                finished.add(name)
            else:  # the first attempt without a verdict (a folder resumed from before may have gaps)
                queue.append(Task(task.theorem, task.split, following))
            progress.update(bar, completed=len(finished))

        pool.run(queue, on_result, on_tick=lambda running: progress.update(bar, status=status(running)),
                 start_timeout=config.worker_start_timeout)
