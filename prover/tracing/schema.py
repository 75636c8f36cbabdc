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
    ("state_before", pa.string(), "the goals before the tactic, exactly the text a policy is shown (inside a "
                                  "bullet or brace of the human proof: the focused goals, which a search, "
                                  "whose proofs are linear, shows with the others after them)"),
    ("tactic", pa.string(), "the tactic as a policy proposes it (Coq: one sentence without its final dot)"),
    ("state_after", pa.string(), "the goals after the tactic; empty when no goal it worked on is left"),
    ("closed", pa.bool_(), "the tactic closed the goal(s) it worked on: no focused goal is left (the proof "
                           "done, a bullet's or brace's goals done, or only shelved or given-up goals "
                           "left), exactly when state_after is empty (Coq: a tactic run where no goal is "
                           "shown, as Unshelve when only shelved goals are left, is no row)"),
    ("trace", pa.string(), "which trace or round produced the row"),
)

ARROW_SCHEMA = pa.schema(
    [pa.field(name, kind, nullable=False, metadata={"doc": doc}) for name, kind, doc in COLUMNS],
    metadata={"schema_version": str(SCHEMA_VERSION)},
)


_DOC = {name: doc for name, _, doc in COLUMNS}

# (field, meaning) of a unit's record, ``units/*.json`` (``dataset.UnitRecord``, whose fields a test keeps
# equal to these). Fields added later are optional: a record written before them loads with their default.
UNIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("source", "the corpus, as in the rows"),
    ("unit", "the file, relative to the corpus root, as in the rows' file column"),
    ("trace", "the trace that wrote the record"),
    ("shard", "the shard under shards/ holding the unit's rows, or null when it has none"),
    ("rows", "the number of rows in the shard"),
    ("proofs", "each proof of the unit: theorem, line, status (traced or why it was skipped), steps, "
               "statement, detail (the error, if any)"),
    ("error", "why the replay stopped early (a rerun traces the unit again); empty when it did not"),
    ("seconds", "how long the unit took to trace"),
    ("extra", "other facts: the traced file's sha256 (a file changed since is traced again), the failed "
              "commands outside proofs, how many Require/Load failed, how many tactics ran where no goal "
              "was shown (steps_without_goals: not rows)"),
    ("path", "optional: the traced .v file's resolved path (a trace naming the same file under another "
             "corpus or unit is refused); empty for Lean units and for records written before it was kept"),
)


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
        "unit_record": [{"name": name, "doc": doc} for name, doc in UNIT_FIELDS],
    }


def schema_json() -> str:
    return json.dumps(schema_document(), indent=2) + "\n"
