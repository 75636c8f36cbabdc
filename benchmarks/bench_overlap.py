"""Overlap: expansions/s of the overlapped driver against the sequential generate-then-run loop.

Target (issue 4, point 6): at least 2x. The sequential loop is the synchronous driver at expansion width 1
(BFS-Prover-V2's order: generate for one state, then run its tactics one by one). Latencies are simulated
with ``time.sleep`` (which releases the GIL, as a model server or a Lean subprocess would): the model costs
40 ms per ``propose`` call plus 5 ms per state in the batch, Lean 20 ms per tactic; 4 tactics per node;
the overlapped driver gets 4 sessions. Every tactic reaches a new state and nothing is ever proved, so each
run stops at its expansion budget. All runs happen in this process, one after the other.

Run: python benchmarks/bench_overlap.py [--expansions N] [--widths 1 2 4 8] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from search import BestFirstSearch, Candidate, SearchConfig, TacticState, run_search
from search.overlap import run_search_overlapped

MODEL_CALL_S = 0.040
MODEL_PER_STATE_S = 0.005
TACTIC_S = 0.020
TACTICS_PER_NODE = 4
SESSIONS = 4
CANDIDATES = [Candidate(f"t{i}", -0.1 * (i + 1)) for i in range(TACTICS_PER_NODE)]


class SleepyPolicy:
    """A model server's latency: a fixed cost per call plus a cost per state in the batch."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.batches.append(len(states))
        time.sleep(MODEL_CALL_S + MODEL_PER_STATE_S * len(states))
        return [CANDIDATES[:n] for _ in states]


class SleepySession:
    """A Lean process's latency: every tactic takes ``TACTIC_S`` and reaches a new state. Stateless, so any
    session can run any state (as real backends do by replaying the path)."""

    def initial_state(self) -> TacticState:
        return TacticState("root")

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticState:
        time.sleep(TACTIC_S)
        return TacticState(f"{state.pp}/{tactic}")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Run:
    driver: str
    width: int
    sessions: int
    seconds: float
    expansions: int
    mean_batch: float


def run_once(expansions: int, width: int | None) -> Run:
    """One search to its budget: ``width=None`` is the sequential loop, else the overlapped driver."""
    policy = SleepyPolicy()
    config = SearchConfig(max_expansions=expansions, time_limit=None, tactics_per_node=TACTICS_PER_NODE,
                          expansion_width=width or 1)
    search = BestFirstSearch(SleepySession().initial_state(), config=config)
    started = time.perf_counter()
    if width is None:
        run_search(search, SleepySession(), policy, lambda tactics: None)
    else:
        run_search_overlapped(search, [SleepySession() for _ in range(SESSIONS)], policy, lambda t: None)
    seconds = time.perf_counter() - started
    assert search.stats.expansions == expansions
    assert search.stats.tactic_calls == TACTICS_PER_NODE * expansions
    name = "sequential (sync, width 1)" if width is None else "overlapped"
    return Run(name, width or 1, 1 if width is None else SESSIONS, seconds, expansions,
               statistics.mean(policy.batches))


def median_run(expansions: int, width: int | None, repeats: int) -> Run:
    runs = sorted((run_once(expansions, width) for _ in range(repeats)), key=lambda r: r.seconds)
    return runs[len(runs) // 2]


def table(runs: list[Run]) -> str:
    base = runs[0].expansions / runs[0].seconds
    lines = ["| driver | width | sessions | expansions | wall s | expansions/s | mean batch | speed-up |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        rate = r.expansions / r.seconds
        lines.append(f"| {r.driver} | {r.width} | {r.sessions} | {r.expansions} | {r.seconds:.2f} | "
                     f"{rate:.1f} | {r.mean_batch:.2f} | {rate / base:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expansions", type=int, default=40)
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=1, help="runs per row; the median is shown")
    args = parser.parse_args()
    runs = [median_run(args.expansions, None, args.repeats)]
    runs += [median_run(args.expansions, width, args.repeats) for width in args.widths]
    print(f"model {MODEL_CALL_S * 1e3:.0f} ms per call + {MODEL_PER_STATE_S * 1e3:.0f} ms per state, "
          f"Lean {TACTIC_S * 1e3:.0f} ms per tactic, {TACTICS_PER_NODE} tactics per node\n")
    print(table(runs))


if __name__ == "__main__":
    main()
