"""Tracing many files: one Ray task per file, results appended to the dataset as they come, a progress
bar, and a summary of what was traced and what was skipped and why.

Tasks only replay (``trace_coq_file``); the driver alone writes the dataset, so shards and records never
race. A file whose record exists is skipped, so a rerun after a crash or ``kill -9`` resumes where it
stopped. A file the dataset holds under another corpus or unit (a folder traced, then its subfolder) is
refused before anything is traced, so no proof is in a dataset twice; so is a file whose (corpus, unit) the
dataset holds for another file (``A/theories/X.v``, then ``B/theories/X.v``: both corpora are named
``theories``), whose proofs would otherwise be skipped as already traced. A unit whose shard is damaged
(truncated, deleted) is traced again, with a warning naming the shard. Files that stop early are named, in
a warning each and in the summary. The Lean path (``dojo.py``) writes its units through the same ``Dataset``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from prover.tracing.coq_trace import source_digest, trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset, DatasetError, UnitRecord, finished
from prover.tracing.schema import StepRow

logger = logging.getLogger(__name__)

MAX_LISTED = 10  # files that stopped early named in a summary (the count says how many in all)


@dataclass(frozen=True)
class RunCounts:
    """What one ``prover trace`` run did, beside the dataset's totals: the files it was given, those it
    skipped as already traced (a rerun resumes), those it traced to their end, those that stopped early,
    those whose task died (a rerun traces them), the proofs and rows it wrote, and how many of the files
    it wrote were done before but traced again because their shard was damaged or their file changed."""

    files: int = 0
    skipped: int = 0  # already traced to their end before this run
    traced: int = 0  # replayed to their end by this run
    stopped_early: int = 0  # replayed by this run, stopped early (a rerun traces them again)
    failed_loads: int = 0  # replayed by this run, a Require/Load failed (a rerun traces them again)
    lost: int = 0  # the task's worker died: nothing written
    proofs_traced: int = 0
    rows: int = 0
    damaged: int = 0  # written by this run, done before but their shard damaged (traced again)
    changed: int = 0  # written by this run, done before but their file changed since (traced again)

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "files_traced": self.traced, "files_already_traced": self.skipped,
                "files_stopped_early": self.stopped_early, "files_failed_loads": self.failed_loads,
                "files_not_written": self.lost, "files_retraced_damaged": self.damaged,
                "files_retraced_changed": self.changed,
                "proofs_traced": self.proofs_traced, "rows": self.rows}

    @property
    def attempted(self) -> int:
        """The files this run tried to trace (those not already traced)."""
        return self.files - self.skipped

    def line(self) -> str:
        """One sentence: ``this run: 0 files traced (0 proofs, 0 rows), 1 already traced (skipped)``."""
        parts = [f"{self.traced} file{'' if self.traced == 1 else 's'} traced "
                 f"({self.proofs_traced} proofs, {self.rows} rows)",
                 f"{self.skipped} already traced (skipped)"]
        if self.stopped_early:
            parts.append(f"{self.stopped_early} stopped early")
        if self.failed_loads:
            parts.append(f"{self.failed_loads} whose Require/Load failed")
        if self.lost:
            parts.append(f"{self.lost} not written (the task died; a rerun traces them)")
        if self.damaged:
            parts.append(f"{self.damaged} traced again (their shard was damaged)")
        if self.changed:
            parts.append(f"{self.changed} traced again (the file changed since)")
        return "this run: " + ", ".join(parts)


@dataclass(frozen=True)
class TraceSummary:
    """Counts over every unit of a dataset (every trace into it, this run's and earlier ones): files, their
    errors, proofs by status, rows; ``run`` says what this run did."""

    files: int = 0
    file_errors: int = 0
    rows: int = 0
    proofs: dict[str, int] = field(default_factory=dict)  # status -> count
    skipped_reasons: dict[str, int] = field(default_factory=dict)  # first words of failures -> count
    failed_loads: int = 0  # files in which a Require/Load outside the proofs failed
    stopped: tuple[tuple[str, str], ...] = ()  # (unit, error) of the first files that stopped early
    run: RunCounts = field(default_factory=RunCounts)  # what this run did

    @property
    def theorems(self) -> int:
        return sum(self.proofs.values())

    @property
    def coverage(self) -> float:
        """Traced proofs among those that end in ``Qed``/``Defined`` in the source (admitted and aborted
        ones are not proofs to trace, nor Coq's ``Proof <term>.``, which has no tactic and no ``Qed``)."""
        wanted = self.theorems - sum(self.proofs.get(status, 0) for status in ("admitted", "aborted", "term"))
        return self.proofs.get("traced", 0) / wanted if wanted else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The dataset's totals under the keys they always had, and ``this_run``: what this run did."""
        return {"this_run": self.run.as_dict(),
                "files": self.files, "file_errors": self.file_errors, "rows": self.rows,
                "theorems": self.theorems, "proofs": dict(self.proofs),
                "coverage": round(self.coverage, 4), "skipped_reasons": dict(self.skipped_reasons),
                "failed_loads": self.failed_loads,
                "stopped_early": [{"unit": unit, "error": error} for unit, error in self.stopped]}

    @property
    def nothing_traced(self) -> bool:
        """This run tried files and traced none to its end (each stopped early, or its task died): the
        command's exit status 1. A run that found every file already traced traced nothing it tried. Without
        what a run did (``run`` not given): every file of the dataset stopped early and no proof is traced."""
        if self.run.files:
            return self.run.attempted > 0 and self.run.traced == 0
        return self.files > 0 and self.file_errors == self.files and not self.proofs.get("traced")


def summarize(records: Sequence[UnitRecord], run: RunCounts | None = None) -> TraceSummary:
    """The totals of a dataset's unit records, with ``run``: what this run did (nothing by default)."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for record in records:
        for proof in record.proofs:
            statuses[proof.status] += 1
            if proof.status in ("failed", "not-reached"):
                reasons[_reason(proof.detail)] += 1
    stopped = [(r.unit, r.error) for r in records if r.error]
    return TraceSummary(len(records), len(stopped), sum(r.rows for r in records),
                        dict(statuses), dict(reasons.most_common(12)),
                        sum(1 for r in records if r.extra.get("failed_loads")), tuple(stopped[:MAX_LISTED]),
                        run or RunCounts())


# the parts of a failure message that name one file or one proof, left out so that the same failure in
# N files counts as one reason: ``coqtop[Bool/Bool.v]``, ``line 12:``, a path, ``(inner)``
_SPECIFIC = (
    (re.compile(r"coqtop\[[^\]]*\]"), "coqtop"),
    (re.compile(r"\bline \d+:\s*"), ""),
    (re.compile(r"[^\s:()\[\]]+\.v\b(?::\d+)?"), "FILE"),
    (re.compile(r"\s*\([\w'.]+\)"), ""),
)


def _reason(detail: str) -> str:
    """A short class of a failure message, for counting: its first words without what names one file or
    proof (``line 12: coqtop[A.v] died`` -> ``coqtop died``)."""
    text = detail
    for pattern, replacement in _SPECIFIC:
        text = pattern.sub(replacement, text)
    return " ".join(text.split()[:6])[:60] or "unknown"


def check_paths(jobs: Sequence[TraceJob], dataset: Dataset,
                records: Sequence[UnitRecord] | None = None) -> None:
    """Refuse (``DatasetError``) jobs whose file the dataset already holds under another corpus or unit
    (a folder traced, then a subfolder of it): tracing it again would put its proofs in twice; and jobs
    whose (corpus, unit) the dataset holds for another file (two folders both named ``theories``): its
    proofs would be skipped as already traced. Records that keep no path (older datasets) refuse nothing."""
    held = dataset.units_by_path(records)
    files = {unit: path for path, unit in held.items()}
    for job in jobs:
        other = files.get((job.source, job.unit))
        if other is not None and other != job.path:
            raise DatasetError(
                dataset.path, f"unit {job.unit!r} of corpus {job.source!r} is already traced from {other}, "
                f"and this trace would name {job.path} so too (its proofs would be skipped as already "
                "traced): give this folder its own corpus name with --source, or use another --out")
        known = held.get(job.path)
        if known is not None and known != (job.source, job.unit):
            source, unit = known
            raise DatasetError(
                dataset.path, f"{job.path} is already traced as unit {unit!r} of corpus {source!r}, and this "
                f"trace would add it again as unit {job.unit!r} of corpus {job.source!r}: to resume, trace "
                "the same folder (and --source) as before; to trace it under the new name, use another --out")


TraceFunction = Callable[[TraceJob, CoqTraceConfig], tuple[UnitRecord, list[StepRow]]]


def run_trace(jobs: Sequence[TraceJob], dataset: Dataset, config: CoqTraceConfig, *,
              console: Console | None = None, function: TraceFunction = trace_coq_file) -> TraceSummary:
    """Trace the jobs whose units are not done yet on the connected Ray (one CPU per task), appending each
    result to ``dataset`` as it arrives (a warning names each file that stopped early); returns the summary
    of the whole dataset, with what this run did (``TraceSummary.run``). Raises ``DatasetError``, before
    tracing anything, for a job whose file the dataset holds under another corpus or unit
    (``check_paths``). A done unit whose shard is damaged is traced again (a warning names the shard)."""
    import ray

    records = list(dataset.records())  # read once: nothing is written before the tasks end
    check_paths(jobs, dataset, records)
    damaged, changed = damaged_units(jobs, dataset, records), changed_units(jobs, records)
    complete = {(r.source, r.unit) for r in records if finished(r)}
    pending = [job for job in jobs if (job.source, job.unit) in damaged | changed
               or (job.source, job.unit) not in complete]
    logger.info("%d files to trace (%d already done)", len(pending), len(jobs) - len(pending))
    written: list[UnitRecord] = []
    lost = 0
    if pending:
        task = ray.remote(num_cpus=1, max_retries=1)(function)
        futures = {task.remote(job, config): job for job in pending}
        with _progress(console) as progress:
            bar = progress.add_task("tracing", total=len(pending), proofs=0)
            traced = 0
            while futures:
                done, _ = ray.wait(list(futures), num_returns=1)
                job = futures.pop(done[0])
                try:
                    record, rows = ray.get(done[0])
                except ray.exceptions.RayError as exc:  # the task's worker died: retried on a rerun
                    logger.error("%s: not traced (a rerun retries it): %s", job.unit, exc)
                    lost += 1
                    progress.update(bar, advance=1)
                    continue
                record = dataset.add_unit(record, rows)
                written.append(record)
                if record.error:
                    logger.warning("%s: stopped early: %s", job.path, record.error)
                traced += sum(1 for p in record.proofs if p.status == "traced")
                progress.update(bar, advance=1, proofs=traced, description=job.unit[-40:])
    run = replace(run_counts(len(jobs), written, lost=lost),
                  damaged=sum(1 for r in written if (r.source, r.unit) in damaged),
                  changed=sum(1 for r in written if (r.source, r.unit) in changed - damaged))
    return summarize(list(dataset.records()), run)


def changed_units(jobs: Sequence[TraceJob], records: Sequence[UnitRecord]) -> set[tuple[str, str]]:
    """The (corpus, unit) of the jobs whose file changed since the dataset traced it (its record's
    ``sha256`` differs; records without one, older datasets and Lean units, never count as changed), each
    named in a warning: a rerun traces them again and the new record replaces the old one."""
    recorded = {(r.source, r.unit): r.extra.get("sha256") for r in records}
    changed = set()
    for job in jobs:
        before = recorded.get((job.source, job.unit))
        if not before or not job.path:
            continue
        try:
            now = source_digest(Path(job.path).read_bytes())
        except OSError:
            continue  # an unreadable file: its trace says so
        if now != before:
            logger.warning("%s (%s) changed since it was traced; traced again", job.unit, job.source)
            changed.add((job.source, job.unit))
    return changed


def damaged_units(jobs: Sequence[TraceJob], dataset: Dataset,
                  records: Sequence[UnitRecord] | None = None) -> set[tuple[str, str]]:
    """The (corpus, unit) of the jobs whose shard the dataset holds damaged (``Dataset.shard_problems``:
    unreadable, missing, another row count), each named in a warning: a rerun traces them again into a
    new shard (the damaged one is no longer read)."""
    problems = dataset.shard_problems({(job.source, job.unit) for job in jobs}, records)
    for (source, unit), problem in sorted(problems.items()):
        logger.warning("%s (%s): %s; traced again", unit, source, problem)
    return set(problems)


def run_counts(files: int, written: Sequence[UnitRecord], *, lost: int = 0) -> RunCounts:
    """What a run given ``files`` files did, from the records it wrote (``lost``: tasks that wrote none);
    the files neither written nor lost were skipped as already traced."""
    stopped = sum(1 for r in written if r.error)
    loads = sum(1 for r in written if r.extra.get("failed_loads"))
    return RunCounts(files=files, skipped=files - len(written) - lost, traced=len(written) - stopped,
                     stopped_early=stopped, failed_loads=loads, lost=lost,
                     proofs_traced=sum(1 for r in written for p in r.proofs if p.status == "traced"),
                     rows=sum(r.rows for r in written))


def _progress(console: Console | None) -> Progress:
    return Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[proofs]} proofs"), TimeRemainingColumn(),
                    console=console or Console(stderr=True), transient=False)
