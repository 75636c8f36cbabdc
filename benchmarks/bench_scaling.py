"""Sweep throughput of 16 search workers against 1, with a session that sleeps 20 ms per tactic (as a
Lean subprocess would keep a worker waiting).

Target (issue "Distributed search"): at least 80% parallel efficiency on the 2-core development machine.
Efficiency = (throughput with N workers) / (N x throughput with 1 worker), both measured in this process
on the same local Ray, with workers started (and answering) before the clock starts.

Run: python benchmarks/bench_scaling.py [--workers 16] [--theorems 64] [--depth 8]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque
from collections.abc import Sequence

from prover.backends import BackendSettings
from prover.policies.spec import PolicySpec
from prover.run_spec import RunSpec
from prover.sweep.pool import SupervisedPool
from prover.sweep.worker import Task, WorkerSetup
from search import Candidate, ProofFinished, SearchConfig, TacticState, Theorem, Verdict
from search.backends.lean import LeanReplConfig

TACTIC_SECONDS = 0.020


class SleepSession:
    """A chain of ``depth`` states; every tactic costs 20 ms of waiting, like a Lean round trip."""

    def __init__(self, theorem: Theorem, depth: int) -> None:
        self.theorem = theorem
        self.depth = depth

    def initial_state(self) -> TacticState:
        return TacticState("0")

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None):
        time.sleep(TACTIC_SECONDS)
        step = int(state.pp) + 1
        return ProofFinished() if step == self.depth else TacticState(str(step))

    def close(self) -> None:
        pass


class SleepBackend:
    name = "sleep"

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def open(self, theorem: Theorem) -> SleepSession:
        return SleepSession(theorem, self.depth)

    def check_tactic(self, tactic: str) -> None:
        return None

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        return " ".join(tactics)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        return Verdict(len(tactics) == self.depth, proof_text=" ".join(tactics))

    def close(self) -> None:
        pass


class OneTactic:
    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [[Candidate("step", -0.1)] for _ in states]


class BackendFactory:
    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __call__(self) -> SleepBackend:
        return SleepBackend(self.depth)


def throughput(workers: int, theorems: int, depth: int) -> tuple[float, float]:
    """Theorems per second with ``workers`` started workers, and the wall time."""
    spec = RunSpec(backend=BackendSettings("repl", LeanReplConfig()), policy=PolicySpec("tactics", "lean"),
                   search=SearchConfig(time_limit=None))
    setup = WorkerSetup.of(spec, backend=BackendFactory(depth), policy=OneTactic)
    pool = SupervisedPool(setup, size=workers, num_cpus=0.01, max_retries=0)
    pool.start()
    tasks = deque(Task(Theorem(f"t{i}", f"theorem t{i} : P :="), "test", 1) for i in range(theorems))
    done = []
    started = time.perf_counter()
    pool.run(tasks, lambda task, record: done.append(record["status"]))
    elapsed = time.perf_counter() - started
    pool.shutdown()
    assert done.count("proved") == theorems
    return theorems / elapsed, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--theorems", type=int, default=64)
    parser.add_argument("--depth", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(address="local", num_cpus=args.workers + 2, include_dashboard=False, log_to_driver=False)
    per_theorem = args.depth * TACTIC_SECONDS
    one, one_wall = throughput(1, max(args.theorems // args.workers, 4), args.depth)
    many, many_wall = throughput(args.workers, args.theorems, args.depth)
    ray.shutdown()
    print(f"{args.depth} tactics x {TACTIC_SECONDS * 1e3:.0f} ms per theorem "
          f"(ideal {1 / per_theorem:.2f} theorems/s per worker)")
    print("| workers | theorems/s | wall s |\n| --- | --- | --- |")
    print(f"| 1 | {one:.2f} | {one_wall:.2f} |\n| {args.workers} | {many:.2f} | {many_wall:.2f} |")
    print(f"parallel efficiency: {many / (args.workers * one):.1%}")


if __name__ == "__main__":
    main()
