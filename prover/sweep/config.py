"""Settings of a benchmark sweep."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """Validated settings of ``prover sweep``. The search's own settings live in ``SearchConfig``."""

    split: str | None = field(default=None, metadata={"help": "only theorems of this split (e.g. test)"})
    attempts: int = field(
        default=1, metadata={"help": "attempts per theorem; the next one starts only if the last failed"})
    workers: int = field(default=2, metadata={"help": "search-worker actors, each with its own sessions"})
    worker_cpus: float = field(default=1.0, metadata={"help": "CPUs Ray reserves for each worker"})
    address: str | None = field(
        default=None, metadata={"help": "Ray cluster address (default: $RAY_ADDRESS, else a local Ray)"})
    out: str = field(default="runs/sweep", metadata={"help": "results folder; a rerun resumes from it"})
    max_retries: int = field(
        default=2, metadata={"help": "times a theorem is retried when its worker or node dies"})
    worker_start_timeout: float = field(
        default=300.0, metadata={"help": "seconds to wait for a worker when none is running, e.g. while "
                                         "the cluster has no free CPUs, before the sweep stops"})
    limit: int | None = field(default=None, metadata={"help": "only the first N theorems"})
    graph_pages: bool = field(
        default=True, metadata={"help": "write each theorem's search graph as an explorer page into "
                                        "OUT/graphs/, linked from report.md"})
    shared_cache: bool = field(
        default=True, metadata={"help": "share proved and failed goals between all searches"})

    def __post_init__(self) -> None:
        problems = []
        if self.attempts < 1:
            problems.append(f"attempts must be >= 1, got {self.attempts}")
        if self.workers < 1:
            problems.append(f"workers must be >= 1, got {self.workers}")
        if self.worker_cpus <= 0:
            problems.append(f"worker_cpus must be > 0, got {self.worker_cpus}")
        if self.max_retries < 0:
            problems.append(f"max_retries must be >= 0, got {self.max_retries}")
        if self.worker_start_timeout <= 0:
            problems.append(f"worker_start_timeout must be > 0, got {self.worker_start_timeout}")
        if self.limit is not None and self.limit < 1:
            problems.append(f"limit must be >= 1, got {self.limit}")
        if not self.out.strip():
            problems.append("out must name a folder")
        if problems:
            raise ValueError("invalid sweep configuration: " + "; ".join(problems))
