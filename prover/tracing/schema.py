"""The one shape of a traced proof step, whatever produced it (Coq replay, LeanDojo, the search itself).

A dataset is a folder of Parquet shards with this schema (``schema.json`` beside them says the same in
words). Each row is one tactic applied inside one proof: the state before it exactly as the backend
shows it to a policy, the tactic as a policy would propose it, and what came of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from search.validation import Validated, setting

SCHEMA_VERSION = 1

# (name, arrow type, meaning): the single source of the schema, its docs and its checks.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("source", pa.string(), "the corpus: a development's name (coq-stdlib), a repository URL, a run"),
    ("assistant", pa.string(), "the proof assistant: coq or lean"),
    ("file", pa.string(), "the source file, relative to the corpus root"),
    ("theorem", pa.string(), "the proof's name (Coq: as coqtop names the open proof; Lean: full name)"),
    ("line", pa.int32(), "1-based line of the tactic's first character in the file (0: unknown)"),
    ("column", pa.int32(), "1-based column of the tactic's first character (0: unknown)"),
    ("step", pa.int32(), "0-based index of the step among the recorded steps of its proof"),
    ("state_before", pa.string(), "the goals before the tactic, exactly the text a policy is shown"),
    ("tactic", pa.string(), "the tactic as a policy proposes it (Coq: one sentence without its final dot)"),
    ("state_after", pa.string(), "the goals after the tactic; empty when no goal it worked on is left"),
    ("closed", pa.bool_(), "the tactic closed the goal(s) it worked on: no focused goal is left"),
    ("trace", pa.string(), "which trace or round produced the row"),
)

ARROW_SCHEMA = pa.schema(
    [pa.field(name, kind, nullable=False, metadata={"doc": doc}) for name, kind, doc in COLUMNS],
    metadata={"schema_version": str(SCHEMA_VERSION)},
)


_DOC = {name: doc for name, _, doc in COLUMNS}


@dataclass(frozen=True)
class StepRow(Validated):
    """One traced step (the fields are the columns of ``COLUMNS``, in order). Raises ``ConfigError`` (a
    ``ValueError``) naming the step's file, line and theorem and every bad field."""

    config_name = "traced step"

    source: str = setting(help=_DOC["source"])
    assistant: str = setting(choices=("coq", "lean"), help=_DOC["assistant"])
    file: str = setting(help=_DOC["file"])
    theorem: str = setting(help=_DOC["theorem"])
    line: int = setting(min=0, help=_DOC["line"])
    column: int = setting(min=0, help=_DOC["column"])
    step: int = setting(min=0, help=_DOC["step"])
    state_before: str = setting(help=_DOC["state_before"])
    tactic: str = setting(nonblank=True, help=_DOC["tactic"])
    state_after: str = setting(help=_DOC["state_after"])
    closed: bool = setting(help=_DOC["closed"])
    trace: str = setting(help=_DOC["trace"])

    def described(self) -> str:
        return f"traced step {self.file}:{self.line} of {self.theorem!r}"


def rows_to_table(rows: list[StepRow]) -> pa.Table:
    """The rows as an Arrow table with ``ARROW_SCHEMA``."""
    columns: dict[str, list[Any]] = {name: [] for name, _, _ in COLUMNS}
    for row in rows:
        for name, value in asdict(row).items():
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)


def schema_document() -> dict[str, Any]:
    """The schema as a JSON-able document (written as ``schema.json`` beside the shards)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "format": "parquet shards under shards/, one per traced unit (file); units/*.json list them",
        "columns": [{"name": name, "type": str(kind), "doc": doc} for name, kind, doc in COLUMNS],
    }


def schema_json() -> str:
    return json.dumps(schema_document(), indent=2) + "\n"
