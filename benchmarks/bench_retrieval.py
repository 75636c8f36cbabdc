"""Retrieval policy benchmarks over a traced standard library (``prover trace --out DATASET``).

Run: ``python benchmarks/bench_retrieval.py DATASET [--sample 2000] [--corpus-size 100000]``. Prints JSON:

1. Index: distinct states and vocabulary of the train files' rows (the fixed split of
   ``prover.stdlib_bench.split``), build time.
2. Held-out tactic accuracy: for up to ``--sample`` rows of the test files (every k-th row, fixed), is the
   recorded tactic (whitespace-normalised) the retrieval policy's first proposal (top-1) or among its first
   five (top-5)? Beside it, in the same process on the same rows, the tactic-list baseline
   (``CoqTacticPolicy``).
3. Query latency at a ``--corpus-size``-state index: every row's state plus, when the corpus has fewer
   distinct states, copies whose hypothesis names are primed (distinct texts: the vectors and the index
   size are what latency depends on). One state per call (a search's own call), median and p95 over 300
   held-out states: the index query alone (the nearest states), the whole ``propose`` (query, name
   mapping, scores), and the tactic-list policy's ``propose`` in the same process as the baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.retrieval import RetrievalConfig, RetrievalIndex, RetrievalPolicy  # noqa: E402
from prover.stdlib_bench.split import file_split  # noqa: E402
from prover.tracing.dataset import DatasetError, open_dataset  # noqa: E402
from search.backends.coq import CoqTacticPolicy  # noqa: E402
from search.backends.coq.safety import check_coq_tactic  # noqa: E402


def normal(tactic: str) -> str:
    return " ".join(tactic.split())


def accuracy(policy, rows: list[tuple[str, str]]) -> dict[str, float]:
    top1 = top5 = 0
    for start in range(0, len(rows), 64):
        batch = rows[start:start + 64]
        for (_, tactic), candidates in zip(batch, policy.propose([s for s, _ in batch], 5), strict=True):
            proposed = [normal(c.tactic) for c in candidates]
            top1 += bool(proposed) and proposed[0] == normal(tactic)
            top5 += normal(tactic) in proposed
    return {"top1": round(top1 / len(rows), 4), "top5": round(top5 / len(rows), 4)}


def latency(call, states: list[str]) -> dict[str, float]:
    times = []
    for state in states:
        started = time.perf_counter()
        call(state)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(0.95 * len(times))]
    return {"median_ms": round(statistics.median(times), 3), "p95_ms": round(p95, 3)}


def primed(state: str, copy: int) -> str:
    """A distinct text with the same features: every hypothesis name primed ``copy`` times, and ``copy``
    trailing blank lines (for states without hypotheses)."""
    text = re.sub(r"(?m)^  ([A-Za-z_][\w']*)( :|,)", lambda m: f"  {m.group(1)}{chr(39) * copy}{m.group(2)}",
                  state)
    return text + "\n" * copy


COLUMNS = ("source", "assistant", "file", "state_before", "tactic")


def main() -> None:
    parser = argparse.ArgumentParser(description="Retrieval index size, held-out accuracy and query latency",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("dataset", help="the traced standard library (`prover trace --out DATASET`)")
    parser.add_argument("--sample", type=int, default=2000, help="held-out rows of the test files scored")
    parser.add_argument("--corpus-size", type=int, default=100_000, help="states in the latency index")
    args = parser.parse_args()
    if args.sample < 1 or args.corpus_size < 1:
        parser.error("--sample and --corpus-size must be at least 1")
    try:
        table = open_dataset(args.dataset).read(columns=list(COLUMNS))
    except DatasetError as exc:
        sys.exit(f"error: {exc}")
    read = [table.column(c).to_pylist() for c in COLUMNS]
    rows = [(file_split(source, f), s, t)  # the stdlib benchmark's rule: other developments are train
            for source, assistant, f, s, t in zip(*read, strict=True) if assistant == "coq"]
    train = [(s, t) for split, s, t in rows if split == "train"]
    test = [(s, t) for split, s, t in rows if split == "test"]
    if not train or not test:
        sys.exit(f"error: {args.dataset} needs traced train and test files of the fixed split "
                 f"(it has {len(train)} train and {len(test)} test rows)")
    keep = lambda t: check_coq_tactic(t) is None  # noqa: E731
    index = RetrievalIndex.from_pairs(train, keep)
    out: dict = {"rows": len(rows), "train_rows": len(train), "test_rows": len(test),
                 "index": {"states": len(index), "vocabulary": index.vocabulary_size,
                           "build_s": round(index.build_seconds, 2)}}
    sample = test[:: max(1, len(test) // args.sample)][: args.sample]
    retrieval = RetrievalPolicy(index, RetrievalConfig())
    out["heldout"] = {"rows": len(sample), "retrieval": accuracy(retrieval, sample),
                      "tactic_list": accuracy(CoqTacticPolicy(), sample)}
    distinct = list(dict.fromkeys(s for _, s, _ in rows))
    states, copy = list(distinct), 1
    while len(states) < args.corpus_size:
        states += [primed(s, copy) for s in distinct[: args.corpus_size - len(states)]]
        copy += 1
    big = RetrievalIndex.from_pairs([(s, "auto") for s in states])
    queries = [s for s, _ in sample[:300]]
    policy, tactic_list = RetrievalPolicy(big), CoqTacticPolicy()
    out["latency"] = {"index_states": len(big), "build_s": round(big.build_seconds, 2),
                      "query": latency(lambda s: big.query([s], policy.config.neighbours), queries),
                      "retrieval_propose": latency(lambda s: policy.propose([s], 16), queries),
                      "tactic_list_propose": latency(lambda s: tactic_list.propose([s], 16), queries)}
    out["latency"]["ratio_propose_median"] = round(out["latency"]["retrieval_propose"]["median_ms"]
                                                   / out["latency"]["tactic_list_propose"]["median_ms"], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
