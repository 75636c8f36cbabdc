"""Engine overhead per expansion with a zero-cost session and policy.

Target (issue "Core"): at least 20,000 expansions/s on one core, i.e. <= 50 us of bookkeeping per
expansion. The baseline, run in the same process, makes exactly the same policy and session calls without
the engine; the engine's overhead is the difference, reported per expansion and as a ratio.

Run: python benchmarks/bench_engine.py [--expansions N] [--repeats R]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Sequence

from search import BestFirstSearch, Candidate, SearchConfig, TacticState, run_search

CANDIDATES = [Candidate("t0", -0.1), Candidate("t1", -0.2), Candidate("t2", -0.3), Candidate("t3", -0.4)]


class ZeroPolicy:
    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [CANDIDATES[:n] for _ in states]


class ZeroSession:
    """Every tactic reaches a new state; nothing is ever proved, so the search runs to its budget."""

    def __init__(self) -> None:
        self.counter = itertools.count()

    def initial_state(self) -> TacticState:
        return TacticState("root")

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticState:
        return TacticState(f"s{next(self.counter)}")

    def close(self) -> None:
        pass


def engine_run(expansions: int) -> float:
    session, policy = ZeroSession(), ZeroPolicy()
    config = SearchConfig(max_expansions=expansions, time_limit=None)
    started = time.perf_counter()
    search = BestFirstSearch(session.initial_state(), config=config)
    run_search(search, session, policy, lambda tactics: None)
    elapsed = time.perf_counter() - started
    assert search.stats.expansions == expansions and search.stats.tactic_calls == 4 * expansions
    return elapsed


def baseline_run(expansions: int) -> float:
    """The same calls (1 propose + 4 tactics per expansion, each timed as the driver does) alone."""
    session, policy = ZeroSession(), ZeroPolicy()
    clock = time.perf_counter
    state = session.initial_state()
    started = clock()
    for _ in range(expansions):
        t = clock()
        candidates = policy.propose([state.pp], 4)[0]
        clock() - t
        for candidate in candidates:
            t = clock()
            session.run_tactic(state, candidate.tactic, timeout=12.0)
            clock() - t
    return clock() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expansions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    engine, baseline = [], []
    for _ in range(args.repeats):
        baseline.append(baseline_run(args.expansions))
        engine.append(engine_run(args.expansions))
    e, b = statistics.median(engine), statistics.median(baseline)
    n = args.expansions
    print(f"expansions per run: {n} (4 tactics each), median of {args.repeats} runs")
    print(f"engine:   {n / e:,.0f} expansions/s ({e / n * 1e6:.1f} us per expansion, all included)")
    print(f"baseline: {n / b:,.0f} expansions/s ({b / n * 1e6:.1f} us: the bare policy and session calls)")
    print(f"engine overhead: {(e - b) / n * 1e6:.1f} us per expansion; engine / baseline time = {e / b:.2f}")


if __name__ == "__main__":
    main()
