"""Coq backend benchmarks: tactic throughput and the tactic-list baseline's solve rate.

Run: ``python benchmarks/bench_coq.py`` (needs coqtop/coqc). Prints Markdown tables:

1. Throughput through one ``CoqSession`` against the floor of the raw coqtop pipe protocol in the same
   process (``CoqTop.command``: one tactic whose goals coqtop prints, one ``BackTo``, a round trip each),
   as a ratio. Session workloads: a cheap tactic at one state reaching a new state each time (the usual
   case in a search), the same state each time (coqtop prints nothing, so the session asks ``Show.``), and
   alternating between two states on different branches (``BackTo`` to the common ancestor and a replay
   of two tactics each).
2. Throughput of N sessions in N threads (each session owns its coqtop, so threads overlap in the
   coqtop processes).
3. Solve rate of ``CoqTacticPolicy`` on ``prover/data/coq_basic.jsonl`` at several expansion budgets. The
   search and the policy are deterministic, so a search with budget B expands exactly the first B states
   of a search with a larger budget: one run at the largest budget gives every smaller budget's rate
   (proved after at most B expansions). Only the time limits (per tactic and per theorem) can break this,
   and the table counts how often they fired.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search import SearchConfig, SearchResult, prove  # noqa: E402
from search.backends.coq import (  # noqa: E402
    CoqBackend,
    CoqBackendConfig,
    CoqSession,
    CoqTacticPolicy,
    read_coq_benchmark,
)
from search.backends.coq.launch import launch  # noqa: E402
from search.types import TacticState, Theorem  # noqa: E402

logger = logging.getLogger("bench_coq")

THEOREM = Theorem("bench", "Theorem bench : forall n m : nat, n + m = m + n /\\ n * 1 = n.",
                  "Require Import Arith Lia.")


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """Settings of one benchmark run."""

    iterations: int = field(default=2000, metadata={"help": "tactics per throughput measurement"})
    repeats: int = field(default=3, metadata={"help": "throughput repeats; the median is reported"})
    pool_sizes: str = field(default="1,2,4", metadata={"help": "comma-separated session pool sizes"})
    budgets: str = field(default="1,2,4,8,16,32,128",
                         metadata={"help": "comma-separated expansion budgets"})
    alphas: str = field(default="2.0,0.5",
                        metadata={"help": "comma-separated length normalisations (SearchConfig.alpha)"})
    tactics_per_node: int = field(default=16, metadata={"help": "policy candidates per expanded state"})
    tactic_timeout: float = field(default=5.0, metadata={"help": "seconds per tactic in the search"})
    time_limit: float = field(default=120.0, metadata={"help": "seconds per theorem in the search"})
    benchmark: str = field(default=str(ROOT / "prover" / "data" / "coq_basic.jsonl"),
                           metadata={"help": "benchmark JSONL file"})
    split: str = field(default="all", metadata={"help": "test, valid or all"})
    skip_solve: bool = field(default=False, metadata={"help": "only measure throughput"})

    def __post_init__(self) -> None:
        if self.iterations < 10 or self.repeats < 1 or self.tactics_per_node < 1:
            raise ValueError("iterations >= 10, repeats >= 1 and tactics_per_node >= 1 are required")
        if self.split not in ("test", "valid", "all"):
            raise ValueError(f"split must be test, valid or all, got {self.split!r}")
        if not self.int_list(self.pool_sizes) or not self.int_list(self.budgets):
            raise ValueError("pool_sizes and budgets need at least one positive integer")
        if not self.float_list(self.alphas):
            raise ValueError("alphas needs at least one value >= 0")

    @staticmethod
    def float_list(text: str) -> list[float]:
        values = [float(x) for x in text.split(",") if x.strip()]
        if any(v < 0 for v in values):
            raise ValueError(f"expected values >= 0, got {text!r}")
        return values

    @staticmethod
    def int_list(text: str) -> list[int]:
        values = [int(x) for x in text.split(",") if x.strip()]
        if any(v < 1 for v in values):
            raise ValueError(f"expected positive integers, got {text!r}")
        return values


def timed(work: Callable[[], None], iterations: int) -> float:
    """Calls per second of ``work`` over ``iterations`` calls."""
    started = time.perf_counter()
    for _ in range(iterations):
        work()
    return iterations / (time.perf_counter() - started)


def single_rates(config: BenchConfig) -> dict[str, float]:
    """Median tactics/s of the raw pipe and of one session, the workloads interleaved round by round
    so that a noisy machine slows all of them alike."""
    top, base = launch(CoqBackendConfig(), THEOREM)
    session = CoqSession(THEOREM)
    try:
        raw_tactics = ["intros n m.", "intros n."]

        def raw() -> None:  # the floor: the same Coq work as `new` below, one round trip per command
            raw_tactics.reverse()
            top.command(raw_tactics[0], 10)
            top.command(f"BackTo {base}.", 10)

        root = session.initial_state()
        first = session.run_tactic(root, "intros n m")
        assert isinstance(first, TacticState)
        turn = [session.run_tactic(first, "split"),
                session.run_tactic(first, "assert (H : n = n) by reflexivity")]
        assert all(isinstance(t, TacticState) for t in turn)

        def same() -> None:  # the same state again: coqtop prints nothing, the session asks `Show.`
            session.run_tactic(root, "intros n m")

        fresh = ["intros n m", "intros n"]

        def new() -> None:  # a state other than the last printed one: coqtop prints it unasked
            fresh.reverse()
            session.run_tactic(root, fresh[0])

        def across() -> None:  # each call: BackTo the common ancestor, replay 2 tactics, run 1
            turn.reverse()
            session.run_tactic(turn[0], "idtac")  # type: ignore[arg-type]

        rounds: dict[str, list[float]] = {"raw": [], "new": [], "same": [], "across": []}
        for _ in range(config.repeats):
            for name, work in (("raw", raw), ("new", new), ("same", same), ("across", across)):
                rounds[name].append(timed(work, config.iterations))
        return {name: statistics.median(values) for name, values in rounds.items()}
    finally:
        top.close()
        session.close()


def pool_rate(size: int, config: BenchConfig) -> float:
    """Median total tactics/s of ``size`` sessions, each driven by its own thread (cheap tactic at
    one state, a new state each time)."""
    sessions = [CoqSession(THEOREM) for _ in range(size)]
    try:
        def drive(session: CoqSession) -> None:
            root = session.initial_state()
            for i in range(config.iterations):
                session.run_tactic(root, "intros n m" if i % 2 else "intros n")
        rates = []
        for _ in range(config.repeats):
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=size) as pool:
                list(pool.map(drive, sessions))
            rates.append(size * config.iterations / (time.perf_counter() - started))
        return statistics.median(rates)
    finally:
        for session in sessions:
            session.close()


def throughput_table(config: BenchConfig) -> str:
    rates = single_rates(config)
    raw = rates["raw"]
    rows = [
        "| workload | tactics/s | vs raw pipe |",
        "| --- | ---: | ---: |",
        f"| raw coqtop pipe: `intros` (goals printed) + `BackTo`, a round trip each (floor) | "
        f"{raw:,.0f} | 1.00 |",
        f"| CoqSession: cheap tactic at one state, a new state each time (BackTo each) | "
        f"{rates['new']:,.0f} | {rates['new'] / raw:.2f} |",
        f"| CoqSession: cheap tactic at one state, the same state each time (BackTo + Show) | "
        f"{rates['same']:,.0f} | {rates['same'] / raw:.2f} |",
        f"| CoqSession: two branches in turn (BackTo + replay 2) | {rates['across']:,.0f} | "
        f"{rates['across'] / raw:.2f} |",
    ]
    for size in BenchConfig.int_list(config.pool_sizes):
        total = pool_rate(size, config)
        rows.append(f"| pool of {size} sessions in {size} threads | {total:,.0f} | {total / raw:.2f} |")
    return "\n".join(rows)


def solve_table(config: BenchConfig, alpha: float) -> str:
    """Solve rate at each budget, from one search per theorem at the largest budget."""
    budgets = BenchConfig.int_list(config.budgets)
    split = None if config.split == "all" else config.split
    items = read_coq_benchmark(config.benchmark, split=split)
    search = SearchConfig(alpha=alpha, max_expansions=max(budgets), tactics_per_node=config.tactics_per_node,
                          tactic_timeout=config.tactic_timeout, time_limit=config.time_limit)
    backend, policy = CoqBackend(), CoqTacticPolicy()
    results: list[tuple[int, SearchResult]] = []
    started = time.perf_counter()
    for item in items:
        result = prove(item.theorem, backend=backend, policy=policy, config=search)
        logger.info("%s: %s in %d expansions", item.theorem.name, result.stop_reason.value,
                    result.stats.expansions)
        results.append((item.difficulty, result))
    wall = time.perf_counter() - started
    return _format_solve(budgets, results, wall, config)


def _format_solve(budgets: list[int], results: list[tuple[int, SearchResult]], wall: float,
                  config: BenchConfig) -> str:
    grades = sorted({d for d, _ in results})
    head = "| max_expansions | solved | rate | " + " | ".join(f"grade {g}" for g in grades) + " |"
    rows = [head, "|" + " --- |" * (3 + len(grades))]
    for budget in budgets:
        solved = [(d, r) for d, r in results if r.proved and r.stats.expansions <= budget]
        by_grade = " | ".join(f"{sum(1 for d, _ in solved if d == g)}/{sum(1 for d, _ in results if d == g)}"
                              for g in grades)
        rows.append(f"| {budget} | {len(solved)}/{len(results)} | {len(solved) / len(results):.0%} | "
                    f"{by_grade} |")
    depths = [len(r.proof.tactics) for _, r in results if r.proof is not None]
    timeouts = sum(r.stats.timeouts for _, r in results)
    time_stops = sum(1 for _, r in results if r.stop_reason.value == "time_budget")
    rows.append("")
    rows.append(f"{config.tactics_per_node} tactics per node, {config.tactic_timeout:g} s per tactic; "
                f"proof depth: max {max(depths, default=0)}, "
                f"{sum(1 for d in depths if d >= 3)} proofs of depth >= 3; tactic timeouts {timeouts}, "
                f"theorems stopped by the time limit {time_stops}; wall {wall:.0f} s.")
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(BenchConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, action="store_true", help=f.metadata["help"])
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default, help=f.metadata["help"])
    return BenchConfig(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print("## Coq session throughput\n")
    print(throughput_table(config))
    if not config.skip_solve:
        for alpha in BenchConfig.float_list(config.alphas):
            print(f"\n## Tactic-list baseline on coq_basic.jsonl, alpha = {alpha:g}\n")
            print(solve_table(config, alpha))


if __name__ == "__main__":
    main()
