"""The one-call baseline for miniF2F-rocq: ``intros``, then each of ten closing tactics, in one coqc call.

For each theorem the proof ``intros. solve [lra | nra | lia | nia | field | ring | auto | easy |
reflexivity | tauto].`` is checked once, whole, by the backend's verifier (coqc, then ``Print Assumptions``
with the allowed axioms), with a 10 s limit; the libraries of ``lra``/``nra``, ``lia``/``nia``, ``ring``
and ``field`` are loaded after the header the same way the search's imports are. It is the "one shot of
automation" that the step search has to beat, run beside it on the same rows (``bench_minif2f_rocq.py``).

Run alone: ``python benchmarks/coq_one_call.py BENCH [--split valid] [--out DIR] [--workers 2]`` where
BENCH is a JSONL benchmark or a miniF2F-rocq checkout. Results go to ``DIR/baseline.jsonl`` (one line per
theorem, fsynced); a rerun skips the theorems already there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.sweep.benchmark import BenchmarkItem, load_benchmark, resolve_benchmark  # noqa: E402
from search.backends.coq import CoqBackend, CoqBackendConfig  # noqa: E402

logger = logging.getLogger("coq_one_call")

CLOSERS = ("lra", "nra", "lia", "nia", "field", "ring", "auto", "easy", "reflexivity", "tauto")
TACTICS = ("intros", "solve [" + " | ".join(CLOSERS) + "]")
IMPORTS = ("Require Import Lia.", "Require Import Lra.", "Require Import Ring.", "Require Import Field.")
TIME_LIMIT = 10.0
RESULTS = "baseline.jsonl"


def baseline_config(base: CoqBackendConfig | None = None) -> CoqBackendConfig:
    """The verifier's settings for the baseline: the base settings (allowed axioms ...), its imports, 10 s."""
    import dataclasses

    base = base or CoqBackendConfig()
    return dataclasses.replace(base, imports=IMPORTS, verify_timeout=TIME_LIMIT)


def run_one(backend: CoqBackend, item: BenchmarkItem) -> dict[str, Any]:
    """The baseline's record for one theorem: proved (kernel-checked) or not, the time, the reason."""
    started = time.perf_counter()
    if item.invalid is not None:
        return {"theorem": item.theorem.name, "split": item.split, "status": "invalid", "seconds": 0.0,
                "message": item.invalid, "axioms": []}
    verdict = backend.verify(item.theorem, TACTICS)
    seconds = time.perf_counter() - started
    message = " ".join(" ".join(verdict.messages).split())[:300] or None
    return {"theorem": item.theorem.name, "split": item.split,
            "status": "proved" if verdict.ok else "unproved", "seconds": round(seconds, 3),
            "message": message, "axioms": list(verdict.axioms)}


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    records = {}
    for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 in a string
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line from an interrupted run: that theorem runs again
            records[record["theorem"]] = record
    return records


def run_baseline(items: Sequence[BenchmarkItem], out: Path, *, workers: int = 1,
                 config: CoqBackendConfig | None = None) -> dict[str, dict[str, Any]]:
    """Run the baseline on every item not yet in ``out/baseline.jsonl``; return all records by theorem."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS
    done = read_results(path)
    todo = [item for item in items if item.theorem.name not in done]
    logger.info("one-call baseline: %d theorems, %d to run", len(items), len(todo))
    backend = CoqBackend(baseline_config(config))
    with path.open("a", encoding="utf-8") as fh, ThreadPoolExecutor(max_workers=workers) as pool:
        for record in pool.map(lambda item: run_one(backend, item), todo):
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done[record["theorem"]] = record
            logger.info("baseline %s: %s (%.1f s)", record["theorem"], record["status"], record["seconds"])
    names = {item.theorem.name for item in items}
    return {name: record for name, record in done.items() if name in names}


def summary(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    records = list(records)
    valid = [r for r in records if r["status"] != "invalid"]
    proved = [r for r in valid if r["status"] == "proved"]
    seconds = [r["seconds"] for r in valid]
    return {"theorems": len(records), "valid": len(valid), "proved": len(proved),
            "pass_rate": len(proved) / len(valid) if valid else 0.0,
            "seconds_total": round(sum(seconds), 1),
            "seconds_mean": round(sum(seconds) / len(seconds), 2) if seconds else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", help="a JSONL benchmark, its name, or a miniF2F-rocq checkout")
    parser.add_argument("--split", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/coq_one_call"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    items = load_benchmark(resolve_benchmark(args.benchmark), args.split, "coq")[: args.limit]
    records = run_baseline(items, args.out, workers=args.workers)
    print(json.dumps(summary(records.values()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
