"""Expert iteration with the retrieval policy on real theorems: does a round make the prover better?

Run: ``python benchmarks/bench_expert_retrieval.py DATASET [--rounds 2] [--data-rows 80] [--heldout-rows 40]
[--stdlib-test-files 20] [--stdlib-test-per-file 2] [--stdlib-train-files 0] [--time-limit 10]
[--max-expansions 16] [--workers 2] [--run runs/expert_retrieval]`` after ``prover trace --out DATASET``
traced the standard library. It is ``prover train`` (the product command, resumable: run it again after an
interruption) on miniF2F-rocq valid (``../shared/benchmarks/minif2f_rocq_valid.jsonl``, name
``minif2f_rocq_valid``) with the retrieval policy, then the per-round table:

- corpus 0 = the traced standard library's train files, mixed with the Coq tactic list (weight 0.7, the
  better of the two weights measured on miniF2F-rocq valid, BENCHMARKS.md); corpus r adds the proof steps
  rounds 0..r-1 found (``prover.expert.corpus_growth``);
- held out, evaluated every round, never searched for data: 25% of the valid rows by the name-hash rule
  (``prover.expert.heldout``), the first ``--heldout-rows`` of them; and ``--stdlib-test-files`` x
  ``--stdlib-test-per-file`` lemmas of the stdlib test split (``prover.expert.stdlib_rounds``);
- searched for data in rounds 0..N-1: the first ``--data-rows`` of the other 75%;
- one budget for every search of every round: ``--time-limit`` s and ``--max-expansions`` expansions of 16
  tactics, 5 s per tactic (with the header's coqtop start and the final check, about 14 s a theorem here).

With the defaults (80 data rows, 40 held-out rows, 36 stdlib test lemmas: 20 files, at most 2 each), two
rounds should take about 40 minutes on this 2-core machine (estimated from smoke runs of a few rows each:
about 14 s a miniF2F theorem with 2 workers, 25 s to build an index of the 55k train states per round).

Writes ``benchmarks/results/expert_retrieval_minif2f.json`` (per-round solve rates on each held-out set,
data searched, corpus growth, budget, machine, date) and ``.png`` (the run's plot), and prints the
Markdown rows for BENCHMARKS.md. The target (issue 15): the last round solves strictly more than round 0
on both held-out sets.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.cli.main import main as prover  # noqa: E402

BENCH = ROOT.parent / "shared" / "benchmarks" / "minif2f_rocq_valid.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
NAME = "expert_retrieval_minif2f"


def train_argv(args: argparse.Namespace) -> list[str]:
    """The ``prover train`` command line the benchmark runs."""
    return ["train", str(args.bench), "--backend", "coq", "--policy", "retrieval",
            "--retrieval-corpus", args.dataset,
            "--retrieval-tactic-list-weight", str(args.tactic_list_weight),
            "--split", "valid", "--rounds", str(args.rounds), "--out", str(args.run),
            "--heldout-percent", "25", *(["--data-limit", str(args.data_rows)] if args.data_rows else []),
            "--heldout-limit", str(args.heldout_rows),
            "--stdlib-test-files", str(args.stdlib_test_files),
            "--stdlib-test-per-file", str(args.stdlib_test_per_file),
            "--stdlib-train-files", str(args.stdlib_train_files), "--stdlib-train-per-file", "1",
            "--time-limit", str(args.time_limit), "--max-expansions", str(args.max_expansions),
            "--tactics-per-node", str(args.tactics_per_node), "--tactic-timeout", "5",
            "--workers", str(args.workers),
            *(["--retrieval-premise-weight", str(args.premise_weight)] if args.premise_weight else []),
            "--data-budget-factor", str(args.data_budget_factor),
            *(["--data-tactics-per-node", str(args.data_tactics_per_node)]
              if args.data_tactics_per_node else []),
            *(["--stdlib-train-fresh"] if args.stdlib_train_fresh else []),
            "--coq-memory-limit-mb", "3072", "--no-graph-pages"]  # 2 workers x 3 coqtops x 3 GiB: 24 GiB


def table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per round: each set's proved/counted and rate, and the corpus growth."""
    rows = []
    for entry in report["rounds"]:
        row: dict[str, Any] = {"round": entry["round"], "corpus_pairs": entry["corpus_pairs"],
                               "added": entry["added"], "pairs": entry["pairs"]}
        for stage, (proved, counted) in entry["solved"].items():
            row[stage] = {"proved": proved, "counted": counted, "rate": entry["rates"][stage]}
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    def cell(row: dict[str, Any], stage: str) -> str:
        part = row.get(stage)
        return "-" if part is None else f"{part['proved']}/{part['counted']} ({part['rate']:.1%})"

    lines = ["| round | corpus pairs added | miniF2F held-out | stdlib test | miniF2F data | stdlib train |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['round']} | {r['corpus_pairs']} | {cell(r, 'heldout')} | {cell(r, 'stdlib_test')} | "
              f"{cell(r, 'search')} | {cell(r, 'stdlib_train')} |" for r in rows]
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> dict[str, bool | None]:
    """Whether the last round solved strictly more than round 0, per held-out set."""
    out: dict[str, bool | None] = {}
    for stage in ("heldout", "stdlib_test"):
        first, last = rows[0].get(stage), rows[-1].get(stage)
        out[stage] = None
        if first is not None and last is not None and len(rows) > 1:
            out[stage] = last["proved"] > first["proved"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="the traced standard library (`prover trace --out DATASET`)")
    parser.add_argument("--bench", type=Path, default=BENCH)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "expert_retrieval")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-rows", type=int, default=80, help="data rows searched (0: all)")
    parser.add_argument("--heldout-rows", type=int, default=40)
    parser.add_argument("--stdlib-test-files", type=int, default=20)
    parser.add_argument("--stdlib-test-per-file", type=int, default=2)
    parser.add_argument("--stdlib-train-files", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--max-expansions", type=int, default=16)
    parser.add_argument("--data-budget-factor", type=float, default=1.0,
                        help="the data searches' budget as a multiple of the evaluation's")
    parser.add_argument("--data-tactics-per-node", type=int,
                        help="tactics per node of the data searches (default: the evaluation's 16)")
    parser.add_argument("--stdlib-train-fresh", action="store_true",
                        help="each round searches stdlib train files no earlier round searched")
    parser.add_argument("--tactic-list-weight", type=float, default=0.7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tactics-per-node", type=int, default=16)
    parser.add_argument("--premise-weight", type=float, default=0.0,
                        help="premise tactics' share (the stdlib benchmark: 0.4, 20 per node)")
    parser.add_argument("--name", default=NAME,
                        help="results file name under benchmarks/results (the recorded results have the "
                             "default name: give another for a try-out, or it overwrites them)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = datetime.now(UTC)
    code = prover(train_argv(args))
    if code != 0:
        raise SystemExit(code)
    report = json.loads((args.run / "report.json").read_text(encoding="utf-8"))
    rows = table(report)
    result = {"benchmark": str(args.bench), "date": started.date().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores ({platform.node()})",
              "wall_seconds": round((datetime.now(UTC) - started).total_seconds()),
              "command": "prover " + " ".join(train_argv(args)), "budget": report["manifest"]["budget"],
              "parts": {k: len(v) for k, v in report["manifest"]["parts"].items() if isinstance(v, list)},
              "stdlib": {k: len(report["manifest"]["stdlib"][k]) for k in ("test", "train")},
              "rounds": rows, "target_last_round_beats_round_0": targets(rows)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(args.run / "report.png", RESULTS / f"{args.name}.png")
    print(markdown(rows))
    print(json.dumps({"wall_seconds": result["wall_seconds"],
                      "targets": result["target_last_round_beats_round_0"]}))


if __name__ == "__main__":
    main()
