"""Durable sweep results: one JSON line per finished attempt, flushed and fsynced before it counts.

A ``kill -9`` can at worst leave a torn last line; opening the store cuts it off (the attempt is simply
run again) and refuses a file with a damaged line before it (``prover.jsonl_repair.repair_torn_tail``).
A lock file keeps two drivers from writing one results folder at once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prover.jsonl_repair import repair_torn_tail, whole_lines
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"


class StoreLockedError(InputError):
    """Another sweep is writing the same results folder."""


def read_records(folder: Path) -> list[dict[str, Any]]:
    """The finished attempts in ``folder``, read without the lock (a sweep may be writing it): a torn or
    half-written last line is left out, never changed; a whole last record that lacks only its newline
    counts, as it does for the store (``whole_lines``)."""
    path = folder / RESULTS_FILE
    if not path.exists():
        return []
    data = path.read_bytes()
    return list(_parse(path, whole_lines(data)))


def _parse(path: Path, data: bytes) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            logger.warning("%s:%d: unreadable record skipped", path, number)
            continue
        if not _is_record(record):
            logger.warning("%s:%d: not a result record (an object with theorem, attempt and status) skipped",
                           path, number)
            continue
        yield record


def _is_record(record: Any) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("theorem"), str)
            and isinstance(record.get("attempt"), int) and isinstance(record.get("status"), str))


class ResultStore:
    """Append-only records of finished attempts, keyed by (theorem, attempt)."""

    def __init__(self, folder: Path) -> None:
        """Open (creating it if needed) the results folder; raises ``InputError`` when ``folder`` is a
        file or cannot be created or its results file has a damaged line (not the torn last line a kill
        leaves, which is cut off), ``StoreLockedError`` when another sweep holds it."""
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} exists and is not a folder: --out names the folder of a sweep's "
                             "results; give a new or existing folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder}: cannot create the results folder ({exc.strerror or exc})") from None
        self.path = folder / RESULTS_FILE
        self._lock = open(folder / ".lock", "w")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise StoreLockedError(
                f"{folder} is in use by another sweep: wait for it, or use another --out") from exc
        try:
            self.records: list[dict[str, Any]] = list(self._load())
        except BaseException:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            raise
        self._fh = self.path.open("a", encoding="utf-8")

    def _load(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        repair_torn_tail(self.path, data=data, consequence="its attempt is run again")
        yield from _parse(self.path, whole_lines(data))

    def keep(self, records: list[dict[str, Any]]) -> None:
        """Count only ``records`` (a selection of ``records``, e.g. without stale ones) from now on; the
        file keeps every line."""
        self.records = list(records)

    def done(self) -> set[tuple[str, int]]:
        return {(r["theorem"], r["attempt"]) for r in self.records}

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably; only then is it part of ``records``."""
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records.append(record)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
