"""Benchmark sweeps: many theorems through supervised Ray search workers, with durable results."""

from prover.sweep.benchmark import BenchmarkItem, load_benchmark, resolve_benchmark
from prover.sweep.config import SweepConfig
from prover.sweep.errors import WorkerStartError
from prover.sweep.folder_report import report_from_folder
from prover.sweep.report import SweepSummary, TheoremOutcome, summarise, write_report
from prover.sweep.runner import pending_tasks, run_sweep
from prover.sweep.store import ResultStore, StoreLockedError, read_records
from prover.sweep.worker import SearchWorker, Task, WorkerSetup, make_record

__all__ = [
    "BenchmarkItem", "ResultStore", "SearchWorker", "StoreLockedError", "SweepConfig", "SweepSummary",
    "Task", "TheoremOutcome", "WorkerSetup", "WorkerStartError", "load_benchmark", "make_record",
    "pending_tasks", "read_records", "report_from_folder", "resolve_benchmark", "run_sweep", "summarise",
    "write_report",
]
