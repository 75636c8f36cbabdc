"""The stdlib re-proving benchmark (``prover.stdlib_bench``): retrieval search beside CoqHammer's ``sauto``.

Run: ``python benchmarks/bench_stdlib.py DATASET OUT [--split test] [--per-file 3] [--budget 10]
[--methods retrieval,sauto] [--max-files N] [--tactic-timeout 2] [--tactic-list-weight 0.7]
[--premise-weight 0.4] [--width 20]`` after
``prover trace --out DATASET`` traced the standard library. DATASET also gives the retrieval index (train
files only). Results go to OUT/results.jsonl (resumable) and OUT/summary.json; the summary is printed as
JSON. The exit status is 1 when a selected file's task failed (it is listed in the summary's
``missing_files``): rerunning the same command resumes OUT and retries it.

The protocol's choices were fixed before any run: the split rule (``split.py``), at most ``--per-file``
lemmas per file spread evenly, the same ``--budget`` seconds per lemma for each method (the search's
wall-clock limit; ``sauto``'s own ``Timeout``), 2 s per tactic in the search, the retrieval policy's
defaults mixed with the tactic list at weight 0.3 (the first test run). Weight 0.7 was then chosen on the
valid split (``--split valid``: 0.3, 0.5, 0.7, and 4 s per tactic; BENCHMARKS.md), later premise tactics
at weight 0.4 with 20 tactics per node (``--premise-weight``, ``--width``, ``--premises``: also chosen on
valid); these are the defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.retrieval.policy import RetrievalConfig, check_corpus_usable  # noqa: E402
from prover.stdlib_bench.runner import StdlibBenchConfig, run_benchmark  # noqa: E402
from prover.tracing.coq_files import stdlib_root  # noqa: E402
from search.errors import ProverError  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("dataset", help="the traced standard library (`prover trace --out DATASET`)")
    parser.add_argument("out", help="the results folder (a rerun resumes it; other settings are refused)")
    parser.add_argument("--split", default="test", help="test, or valid for tuning")
    parser.add_argument("--per-file", type=int, default=3, help="lemmas per file at most, spread evenly")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds per lemma: of search, and sauto's own limit")
    parser.add_argument("--methods", default="retrieval,sauto",
                        help="comma-separated: retrieval, sauto, tactics")
    parser.add_argument("--max-files", type=int, help="the first N files of the split only")
    parser.add_argument("--tactic-timeout", type=float, default=2.0, help="seconds per tactic in the search")
    parser.add_argument("--alpha", type=float, default=2.0,
                        help="the search's length normalisation: score = sum of log-probs / depth^alpha")
    parser.add_argument("--tactic-list-weight", type=float, default=0.7,
                        help="the tactic list's share of the retrieval policy's probability")
    parser.add_argument("--head-weight", type=float, default=0.0,
                        help="the retrieval policy's share for heads of compound tactics (0: off)")
    parser.add_argument("--premise-weight", type=float, default=0.4,
                        help="share of tactics naming the file's earlier lemmas and hint databases (0: off)")
    parser.add_argument("--width", type=int, default=20, help="tactics asked for per node")
    parser.add_argument("--premises", type=int, default=4, help="premises used per state")
    parser.add_argument("--library-premises", type=int, default=0,
                        help="lemmas of the loaded train files named per state beside the file's (0: off)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    try:
        retrieval = RetrievalConfig(tactic_list_weight=args.tactic_list_weight, head_weight=args.head_weight,
                                    premise_weight=args.premise_weight, width=args.width,
                                    premises=args.premises, library_premises=args.library_premises)
        config = StdlibBenchConfig(corpus=args.dataset, root=str(stdlib_root()), out=args.out,
                                   split=args.split, per_file=args.per_file, budget=args.budget,
                                   methods=tuple(args.methods.split(",")), max_files=args.max_files,
                                   tactic_timeout=args.tactic_timeout, alpha=args.alpha, retrieval=retrieval)
        check_corpus_usable(RetrievalConfig(corpus=args.dataset, corpus_split="train"))
        ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        summary = run_benchmark(config)
    except (ProverError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    print(json.dumps(summary, indent=1))
    sys.exit(exit_message(summary, args.dataset, args.split, args.out))


def exit_message(summary: dict, dataset: str, split: str, out: str) -> str | None:
    """The error to exit with (status 1), or None: files whose task failed are missing from the results
    (their rates would be over a subset), or nothing was selected at all."""
    missing = summary.get("missing_files") or []
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return (f"error: {len(missing)} of the selected files failed and are not in the results ({shown}; "
                f"see the log): the summary covers the others only; rerun the same command to resume {out} "
                "and retry them")
    if summary.get("selected_lemmas", summary["lemmas"]) == 0:
        return f"error: {dataset} holds no traced {split} file of the standard library's split"
    return None


if __name__ == "__main__":
    main()
