"""A traced-proof dataset on disk: append-only Parquet shards, one per traced unit, and a record per unit.

Layout::

    DATASET/schema.json               the columns and their meaning (``schema.py``)
    DATASET/shards/UNIT-TRACE-ID.parquet  the rows of one unit (a file) from one trace
    DATASET/units/UNIT.json            the unit's record: written last, it is what makes the unit done

A unit record's fields (``UnitRecord``; ``schema.json`` lists them too, from ``schema.UNIT_FIELDS``) are the
corpus, the unit's name, the trace, its shard, its row count, the fate of each proof, why it stopped early,
its seconds, extras, and the traced file's resolved path (a field added later: records without it load).

A unit counts as done when its record exists; shards without a record (a crash between the two writes)
are never read, so a rerun traces the unit again into a new shard and nothing is read twice. Files are
written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from prover.theorem_input import InputError
from prover.tracing.schema import ARROW_SCHEMA, SCHEMA_VERSION, StepRow, rows_to_table, schema_json

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class DatasetError(InputError):
    """The folder is not a dataset of this schema, or one of its files is damaged."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class ProofRecord:
    """What became of one proof of a unit: ``status`` is ``traced`` or why it was skipped
    (``admitted``, ``aborted``, ``failed``, ``no-tactics``, ``term`` (Coq's ``Proof <term>.``),
    ``not-reached``), ``detail`` the error if any."""

    theorem: str
    line: int
    status: str
    steps: int = 0
    statement: str = ""
    detail: str = ""


@dataclass(frozen=True)
class UnitRecord:
    """One traced unit (a file): where it came from, its shard, and the fate of each of its proofs."""

    source: str
    unit: str
    trace: str
    shard: str | None
    rows: int
    proofs: tuple[ProofRecord, ...] = ()
    error: str = ""  # why the unit stopped early (the proofs after it are ``not-reached``)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # the traced file's resolved path (Coq), so that a later trace naming the same file under another
    # corpus or unit is refused; "" for Lean units and for records written before it was kept
    path: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> UnitRecord:
        """Raises ``ValueError`` for text that is no unit record (damaged, hand-edited)."""
        data = json.loads(text)
        if not isinstance(data, dict) or not all(isinstance(p, dict) for p in data.get("proofs", ())):
            raise ValueError("not a JSON object of a unit record")
        try:
            data["proofs"] = tuple(ProofRecord(**p) for p in data.get("proofs", ()))
            return cls(**data)
        except TypeError as exc:  # a missing or unknown field
            raise ValueError(str(exc)) from exc


def unit_key(source: str, unit: str) -> str:
    """A file name for the unit: readable, and unique by a digest of source and unit."""
    digest = hashlib.sha1(f"{source}\0{unit}".encode()).hexdigest()[:12]
    readable = _UNSAFE.sub("_", unit)[-60:].strip("_.") or "unit"
    return f"{readable}-{digest}"


class Dataset:
    """A dataset folder, created with its ``schema.json`` when new.

    Raises ``DatasetError`` when the folder holds a dataset of another schema version.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.shards = self.path / "shards"
        self.units = self.path / "units"
        schema_file = self.path / "schema.json"
        if schema_file.exists():
            try:
                version = json.loads(schema_file.read_text())["schema_version"]
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # TypeError: not an object
                raise DatasetError(schema_file, f"unreadable schema: {exc}") from exc
            if version != SCHEMA_VERSION:
                raise DatasetError(schema_file, f"schema version {version}, expected {SCHEMA_VERSION}")
        elif self.path.exists() and any(self.path.iterdir()):
            raise DatasetError(self.path, "not empty and has no schema.json: not a traced dataset")
        else:
            self.shards.mkdir(parents=True, exist_ok=True)
            self.units.mkdir(parents=True, exist_ok=True)
            _write_atomic(schema_file, schema_json().encode())
        self.shards.mkdir(exist_ok=True)
        self.units.mkdir(exist_ok=True)

    def is_done(self, source: str, unit: str) -> bool:
        """Whether the unit was traced to its end: a unit whose replay stopped early (a time-out, a coqtop
        that did not start, an unreadable file) or whose ``Require``/``Load`` failed is traced again by a
        rerun, which replaces its record (its old shard is no longer read)."""
        path = self.units / f"{unit_key(source, unit)}.json"
        if not path.exists():
            return False
        try:
            record = UnitRecord.from_json(path.read_text())
        except (ValueError, TypeError) as exc:
            raise DatasetError(path, f"damaged unit record: {exc}") from exc
        return finished(record)

    def add_unit(self, record: UnitRecord, rows: list[StepRow]) -> UnitRecord:
        """Append the rows of a unit as one new shard, then its record (which marks it done).

        The record's ``shard`` and ``rows`` are filled in here; returns the record as written.
        """
        key = unit_key(record.source, record.unit)
        shard_name = None
        if rows:
            attempt = uuid.uuid4().hex[:8]  # a unit traced again after a crash gets a new shard
            shard_name = f"{key}-{_UNSAFE.sub('_', record.trace)[:40]}-{attempt}.parquet"
            target = self.shards / shard_name
            if target.exists():
                raise DatasetError(target, "shard exists already: the dataset is append-only")
            tmp = target.with_name(target.name + ".tmp")
            pq.write_table(rows_to_table(rows), tmp)
            os.replace(tmp, target)
        written = UnitRecord(**{**asdict(record), "shard": shard_name, "rows": len(rows),
                                "proofs": record.proofs})
        _write_atomic(self.units / f"{key}.json", written.to_json().encode())
        return written

    def units_by_path(self, records: Iterable[UnitRecord] | None = None) -> dict[str, tuple[str, str]]:
        """The (source, unit) under which each traced file's resolved path is held (records that keep
        one: Coq units written since paths are kept); ``records`` when the caller read them already."""
        return {record.path: (record.source, record.unit)
                for record in (self.records() if records is None else records) if record.path}

    def records(self) -> Iterator[UnitRecord]:
        """Every done unit's record, in file-name order."""
        for path in sorted(self.units.glob("*.json")):
            try:
                yield UnitRecord.from_json(path.read_text())
            except (ValueError, TypeError) as exc:
                raise DatasetError(path, f"damaged unit record: {exc}") from exc

    def digest(self) -> str:
        """Names what the dataset holds: every done unit with its trace, shard and row count. A unit traced
        since, or traced again, changes it; reading the rows is not needed."""
        units = [[r.unit, r.trace, r.shard, r.rows] for r in self.records()]
        return hashlib.sha256(json.dumps(units).encode()).hexdigest()[:20]

    def shard_paths(self) -> list[Path]:
        """The shards of done units (orphans of interrupted writes are left out)."""
        return [self.shards / r.shard for r in self.records() if r.shard]

    def check_shards(self, units: set[tuple[str, str]] | None = None) -> None:
        """Check, from each shard's footer alone, that the shards of ``units`` ((source, unit) pairs; all
        when None) can be read:
        a Parquet file with the dataset's columns and the record's row count. Cheap next to ``read``, so a
        command can refuse a damaged dataset before it writes anything. Raises ``DatasetError``."""
        for record in self._records_of(units):
            problem = _shard_problem(self.shards, record)
            if problem is not None:
                raise DatasetError(*problem)

    def shard_problems(self, units: set[tuple[str, str]] | None = None,
                       records: Iterable[UnitRecord] | None = None) -> dict[tuple[str, str], str]:
        """What is wrong with the shard of each of ``units`` whose shard is damaged (``check_shards``'s
        checks), ``SHARD: unreadable shard: WHY`` by (source, unit); units with sound shards are left out.
        ``records``: the dataset's records when the caller read them already."""
        problems: dict[tuple[str, str], str] = {}
        for record in self._records_of(units, records):
            problem = _shard_problem(self.shards, record)
            if problem is not None:
                problems[(record.source, record.unit)] = f"{problem[0]}: {problem[1]}"
        return problems

    def _records_of(self, units: set[tuple[str, str]] | None,
                    records: Iterable[UnitRecord] | None = None) -> Iterator[UnitRecord]:
        """The records with a shard, of ``units`` (all when None)."""
        for record in self.records() if records is None else records:
            if record.shard and (units is None or (record.source, record.unit) in units):
                yield record

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """All rows of the done units as one table with ``ARROW_SCHEMA``."""
        paths = self.shard_paths()
        if not paths:
            empty = ARROW_SCHEMA.empty_table()
            return empty if columns is None else empty.select(columns)
        tables = []
        for path in paths:
            try:
                tables.append(pq.read_table(path, columns=columns, schema=ARROW_SCHEMA))
            except (OSError, pa.ArrowInvalid) as exc:
                raise DatasetError(path, f"unreadable shard: {exc}") from exc
        return pa.concat_tables(tables)


def open_dataset(path: str | Path) -> Dataset:
    """An existing dataset; raises ``DatasetError`` when ``path`` holds none."""
    path = Path(path)
    if not (path / "schema.json").is_file():
        raise DatasetError(path, "no schema.json: not a traced dataset (make one with `prover trace`)")
    return Dataset(path)


def _shard_problem(shards: Path, record: UnitRecord) -> tuple[Path, str] | None:
    """The shard of ``record`` and what is wrong with it (from its footer alone), or None when sound."""
    assert record.shard is not None
    path = shards / record.shard
    try:
        metadata = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowInvalid) as exc:
        return path, f"unreadable shard: {exc}"
    missing = set(ARROW_SCHEMA.names) - set(metadata.schema.names)
    if missing:
        return path, f"unreadable shard: no column {', '.join(sorted(missing))}"
    if metadata.num_rows != record.rows:
        return path, f"unreadable shard: {metadata.num_rows} rows, its unit record says {record.rows}"
    return None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def finished(record: UnitRecord) -> bool:
    """Whether ``record``'s unit was traced to its end (``Dataset.is_done``): not stopped early, no
    ``Require``/``Load`` failed."""
    return not record.error and not record.extra.get("failed_loads")
