"""A sweep's memory budget: the proof assistants' per-process limits, times the processes of a worker, times
the workers, must fit the memory of the machine (or cluster) they run on.

Each limit is a cap on one process (coqtop's address space, a Lean REPL's resident memory), so N workers
may together use N times a worker's share; nothing else checks that sum. Checked once before a sweep
starts: when the workers do not fit, their number is lowered to what fits and the sweep says so; when not
even one fits, ``InputError`` names the limit to lower.

A local sweep's memory is the smaller of the host's physical memory and the cgroup limit this process runs
under (a SLURM job's ``--mem``, a container's limit): a 16 GiB job on a 512 GiB node has 16 GiB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prover.sweep.config import SweepConfig
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemoryBudget:
    """The outcome of the check. Memory in MiB; ``per_worker_mb`` is ``None`` when the backend sets no
    limit (nothing to check)."""

    asked: int  # workers asked for
    workers: int  # workers that fit
    per_worker_mb: int | None
    available_mb: int
    where: str  # "this machine" or "the Ray cluster"

    @property
    def lowered(self) -> bool:
        return self.workers < self.asked

    def message(self) -> str:
        return (f"{self.asked} workers x {self.per_worker_mb} MiB (the proof assistants' memory limits per "
                f"worker) = {self.asked * (self.per_worker_mb or 0)} MiB is more than {where_memory(self)}; "
                f"running {self.workers} worker(s) instead (lower the backend's memory limit to run more)")


def where_memory(budget: MemoryBudget) -> str:
    return f"the {budget.available_mb} MiB of {budget.where}"


def worker_memory_mb(backend: str, config: Any, sessions: int) -> int | None:
    """The most memory one search worker's proof-assistant processes may take under their limits (MiB):
    Coq: a coqtop per session plus one for verification (coqc, then the audit coqtop, which works only
    after coqc has exited); Lean REPL: its pool of processes (plus one when proofs are verified in a fresh
    process); LeanDojo: a Dojo per session plus verification. Idle processes are not counted: the coqtops
    a backend keeps at a header between theorems, the audit coqtop between proofs (each holds what it
    reached while it worked, usually far below its limit: an audit coqtop with Reals about 500 MiB).
    ``None`` when a process has no limit, or the backend (or its ``config``) is not one of these."""
    if config is None:
        return None
    if backend == "coq":
        limit, processes = config.memory_limit_mb, sessions + 1
    elif backend == "repl":
        limit = config.memory_limit_mb or config.address_space_limit_mb
        processes = config.pool_size + int(config.verify_in_fresh_process)
    elif backend == "dojo":
        limit = None if config.memory_limit_gb is None else config.memory_limit_gb * 1024
        processes = sessions + 1
    else:
        return None
    return None if limit is None else limit * processes


def machine_memory_mb() -> int:
    """Physical memory of this machine (the host's, whatever limit this process runs under), in MiB."""
    import psutil

    return psutil.virtual_memory().total >> 20


CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
# cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value (about 2^63); v2 writes "max".
NO_CGROUP_LIMIT = 1 << 62


def _cgroup_limit_files(root: Path, proc_cgroup: Path) -> Iterator[Path]:
    """The memory-limit files that may bound this process: the root ones (what a container sees of its own
    cgroup), and those of this process's own cgroup and its ancestors as ``proc_cgroup`` names them (a
    SLURM job's cgroup, below the root)."""
    yield root / "memory.max"  # v2
    yield root / "memory" / "memory.limit_in_bytes"  # v1
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            base, name = root, "memory.max"
        elif "memory" in controllers.split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        directory = base / path.strip().lstrip("/")
        while directory != base and base in directory.parents:
            yield directory / name
            directory = directory.parent


def cgroup_memory_mb(root: Path | None = None, proc_cgroup: Path | None = None) -> int | None:
    """The tightest cgroup memory limit on this process (v2 ``memory.max``, v1 ``memory.limit_in_bytes``),
    in MiB; ``None`` when there is none (no such file, ``max``, or v1's ~2^63 for "unlimited")."""
    limits = []
    for file in _cgroup_limit_files(root or CGROUP_ROOT, proc_cgroup or PROC_CGROUP):
        try:
            text = file.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < NO_CGROUP_LIMIT:
            limits.append(int(text))
    return min(limits) >> 20 if limits else None


def local_memory() -> tuple[int, str]:
    """The memory a local sweep may use (MiB) and where it comes from: the host's physical memory, or the
    cgroup limit this process runs under when that is smaller."""
    host = machine_memory_mb()
    limit = cgroup_memory_mb()
    if limit is not None and limit < host:
        return limit, f"this machine (cgroup limit {limit / 1024:.1f} GiB)"
    return host, "this machine"


def cluster_memory_mb() -> int:
    """The memory Ray may give to tasks and actors over the whole cluster this process is connected to
    (Ray's ``memory`` resource), in MiB."""
    import ray

    return int(ray.cluster_resources().get("memory", 0)) >> 20


def fit_workers(workers: int, per_worker_mb: int | None, available_mb: int, where: str) -> MemoryBudget:
    """How many of ``workers`` fit in ``available_mb``. Raises ``InputError`` when not even one does."""
    if per_worker_mb is None:
        return MemoryBudget(workers, workers, None, available_mb, where)
    fit = min(workers, available_mb // per_worker_mb)
    budget = MemoryBudget(workers, fit, per_worker_mb, available_mb, where)
    if fit < 1:
        raise InputError(f"one search worker may use {per_worker_mb} MiB under the proof assistants' memory "
                         f"limits, more than {where_memory(budget)}: lower the backend's memory limit "
                         "(e.g. --coq-memory-limit-mb, --repl-memory-limit-mb) or --sessions")
    return budget


def apply_memory_budget(sweep: SweepConfig, backend: str, config: Any,
                        sessions: int) -> tuple[SweepConfig, MemoryBudget]:
    """``sweep`` with its worker count lowered to what the memory budget allows, and the budget. A local
    sweep is checked against this machine (the smaller of its memory and this process's cgroup limit); one
    given a cluster address (or ``$RAY_ADDRESS``), against the cluster it connects to."""
    per_worker = worker_memory_mb(backend, config, sessions)
    if per_worker is None:
        return sweep, MemoryBudget(sweep.workers, sweep.workers, None, 0, "")
    if sweep.address or os.environ.get("RAY_ADDRESS"):
        from prover.sweep.runner import connect_ray

        connect_ray(sweep.address)
        budget = fit_workers(sweep.workers, per_worker, cluster_memory_mb(), "the Ray cluster")
    else:
        budget = fit_workers(sweep.workers, per_worker, *local_memory())
    if budget.lowered:
        logger.info("%s", budget.message())
        return replace(sweep, workers=budget.workers), budget
    return sweep, budget
