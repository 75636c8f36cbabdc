"""Replaying one ``.v`` file through coqtop and recording every tactic step of its proofs: how files are
replayed and one file to trace (``coq_trace_job``), and the entry point (``trace_coq_file``).

The file is read and split into sentences (``coq_source``), replayed (``coq_replay``: which sentences are
steps, which proofs are kept, skipped or failed, and why), and summed up in its unit record: the proofs'
records, the file's digest, the commands outside proofs that failed and the steps run without a goal.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from prover.tracing.coq_replay import Replay
from prover.tracing.coq_source import SourceError, split_source
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import UnitRecord
from prover.tracing.schema import StepRow

MAX_FAILED_COMMANDS = 10  # failed commands outside proofs kept in a unit's record


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
