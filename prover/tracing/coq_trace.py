"""Replaying one ``.v`` file through coqtop and recording every tactic step of its proofs: how files are
replayed (``CoqTraceConfig``), one file to trace (``TraceJob``) and the entry point (``trace_coq_file``).

The file is read and split into sentences (``coq_source``), replayed (``coq_replay``: which sentences are
steps, which proofs are kept, skipped or failed, and why), and summed up in its unit record: the proofs'
records, the file's digest, the commands outside proofs that failed and the steps run without a goal.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from prover.tracing.coq_replay import Replay
from prover.tracing.coq_source import SourceError, split_source
from prover.tracing.dataset import UnitRecord
from prover.tracing.schema import StepRow
from search.backends.coq.config import CoqBackendConfig
from search.validation import MAX_SECONDS, Validated, setting

MAX_FAILED_COMMANDS = 10  # failed commands outside proofs kept in a unit's record


@dataclass(frozen=True, kw_only=True)
class CoqTraceConfig(Validated):
    """How files are replayed: the backend settings (coqtop, its arguments, memory, printing depth: the
    same as the searches that will read the data) and the time limit of one sentence, in seconds."""

    config_name = "Coq trace configuration"

    backend: CoqBackendConfig = field(
        default_factory=CoqBackendConfig,
        metadata={"help": "coqtop and its settings, as the searches that read the data use them"})
    sentence_timeout: float = setting(
        120.0, above=0, max=MAX_SECONDS,
        help="seconds one sentence of a file may take before coqtop is killed")


@dataclass(frozen=True)
class TraceJob:
    """One file to trace: its path, its name in the dataset (relative to the corpus root), the corpus and
    trace names, and extra coqtop arguments for this file (its load path, ``-topfile`` with its path so the
    toplevel has the file's own logical name, ``-noinit`` for the prelude's own files)."""

    path: str
    unit: str
    source: str
    trace: str
    extra_args: tuple[str, ...] = ()
    dotted: tuple[str, ...] = ()  # dotted notation symbols its sibling files declare (split_source)


def source_digest(data: bytes) -> str:
    """The digest a unit record keeps of the file it traced (``extra["sha256"]``)."""
    return hashlib.sha256(data).hexdigest()


def trace_coq_file(job: TraceJob, config: CoqTraceConfig) -> tuple[UnitRecord, list[StepRow]]:
    """Replay ``job``'s file; return its record and the rows of its traced proofs.

    Never raises for what the file holds (unreadable files, Coq errors and time-outs are in the record);
    raises ``BackendUnavailableError``-free ``OSError`` only if coqtop cannot be run at all.
    """
    started = time.monotonic()
    try:
        data = Path(job.path).read_bytes()
        text = data.decode("utf-8-sig")  # a BOM, as coqc allows it
        sentences = split_source(text, job.unit, job.dotted)
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        return UnitRecord(job.source, job.unit, job.trace, None, 0, error=f"unreadable: {exc}",
                          path=job.path), []
    replay = Replay(job, config)
    try:
        replay.run(sentences)
    finally:
        replay.close()
    extra: dict[str, object] = {"sha256": source_digest(data)}  # a changed file is traced again
    if replay.failed_commands:
        extra |= {"failed_commands": replay.failed_commands[:MAX_FAILED_COMMANDS],
                  "failed_command_count": len(replay.failed_commands), "failed_loads": replay.failed_loads}
    if replay.steps_without_goals:
        extra["steps_without_goals"] = replay.steps_without_goals
    record = UnitRecord(job.source, job.unit, job.trace, None, len(replay.rows), tuple(replay.proofs),
                        error=replay.error, seconds=round(time.monotonic() - started, 3), extra=extra,
                        path=job.path)
    return record, replay.rows
