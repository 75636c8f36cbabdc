"""Real proofs as data: one dataset of traced proof steps (Parquet shards with a documented schema) from
Coq files replayed through coqtop or from LeanDojo-traced Lean repositories.

Importing this package starts nothing: Coq and Ray run only when a trace runs.
"""

from prover.tracing.coq_source import SourceError, SourceSentence, split_source
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset, DatasetError, ProofRecord, UnitRecord, open_dataset
from prover.tracing.schema import ARROW_SCHEMA, COLUMNS, SCHEMA_VERSION, StepRow, rows_to_table

__all__ = [
    "ARROW_SCHEMA", "COLUMNS", "SCHEMA_VERSION", "CoqTraceConfig", "Dataset", "DatasetError", "ProofRecord",
    "SourceError", "SourceSentence", "StepRow", "TraceJob", "UnitRecord", "open_dataset", "rows_to_table",
    "split_source", "trace_coq_file",
]
