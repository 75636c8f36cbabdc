"""miniF2F-rocq: the step search (``prover sweep``, Coq backend, tactic-list policy) against the one-call
baseline (``coq_one_call.py``), in one run, on the same rows.

Run: ``python benchmarks/bench_minif2f_rocq.py BENCH --out DIR [--sample FILE] [--max-expansions 64]
[--time-limit 60] [--workers 2]``. BENCH is ../shared/benchmarks/minif2f_rocq_valid.jsonl or a
miniF2F-rocq checkout; ``--sample`` names a file of theorem names (one a line) to run instead of the whole
split (``minif2f_rocq_valid_sample40.txt`` is the fixed sample of the 256-expansion run). Everything is
resumable: the sweep resumes from ``DIR/sweep``, the baseline from ``DIR/baseline.jsonl``, the re-check
from ``DIR/recheck.jsonl``; run the same command again after an interruption.

Steps: (1) the rows go to ``DIR/rows.jsonl`` (both sides read them); (2) the baseline runs on them;
(3) the sweep runs on them; (4) every proof the sweep reports is compiled again from its recorded text
(coqc, then the axiom audit) and the axioms it uses are listed; (5) ``DIR/summary.json``,
``DIR/summary.md`` (the BENCHMARKS.md rows) and ``DIR/solved_vs_budget.png`` are written.

Reported: pass@1 of both and their ratio; time per theorem; the share of the search workers' wall time
spent in tactics, in verification, in the policy, and outside the search (start-up: loading or reusing
the header's coqtop, opening the statement, closing); verification seconds per proved theorem.
``--audit-reuse 0`` runs the sweep with a fresh audit coqtop per proof (the verifier before issue 13's
persistent one), for a comparison of the shares; ``bench_coq_verify.py`` compares the two verifiers on the
same proofs in one process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from coq_one_call import run_baseline  # noqa: E402
from coq_one_call import summary as baseline_summary  # noqa: E402

from prover.sweep.benchmark import BenchmarkItem, load_benchmark, resolve_benchmark  # noqa: E402
from search.backends.coq import CoqBackend, CoqBackendConfig, CoqTacticPolicy  # noqa: E402
from search.types import Theorem  # noqa: E402

logger = logging.getLogger("bench_minif2f_rocq")


def select(items: list[BenchmarkItem], sample: Path | None) -> list[BenchmarkItem]:
    """The items named in ``sample`` (every one must exist), or all of them."""
    if sample is None:
        return items
    names = [line.strip() for line in sample.read_text().splitlines() if line.strip() and line[0] != "#"]
    by_name = {item.theorem.name: item for item in items}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise SystemExit(f"{sample}: not in the benchmark: {', '.join(missing)}")
    return [by_name[name] for name in names]


def write_rows(items: list[BenchmarkItem], path: Path) -> None:
    """The rows both sides read, in the shared JSONL format (a known-invalid row keeps its mark)."""
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            row = {"name": item.theorem.name, "split": item.split, "header": item.theorem.header,
                   "statement": item.theorem.statement}
            if item.invalid is not None:
                row["coq_8_16"] = item.invalid.removeprefix("coq_8_16: ")
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_sweep(rows: Path, out: Path, args: argparse.Namespace) -> None:
    from prover.cli.main import main

    argv = ["sweep", str(rows), "--backend", "coq", "--policy", "tactics", "--workers", str(args.workers),
            "--max-expansions", str(args.max_expansions), "--time-limit", str(args.time_limit),
            "--out", str(out)]
    if args.tactic_timeout is not None:
        argv += ["--tactic-timeout", str(args.tactic_timeout)]
    if args.alpha is not None:
        argv += ["--alpha", str(args.alpha)]
    argv += ["--coq-keep-coqtops", str(args.keep_coqtops)]
    if args.audit_reuse is not None:
        argv += ["--coq-audit-reuse", str(args.audit_reuse)]
    code = main(argv)
    if code != 0:
        raise SystemExit(f"the sweep ended with exit code {code}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 in a string
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line: that entry is redone
    return records


def recheck(records: list[dict[str, Any]], rows: dict[str, dict[str, Any]],
            out: Path) -> list[dict[str, Any]]:
    """Compile every reported proof again from its recorded text; list the axioms each uses."""
    path = out / "recheck.jsonl"
    done = {r["theorem"]: r for r in read_jsonl(path)}
    imports = CoqTacticPolicy().imports
    backend = CoqBackend(CoqBackendConfig(imports=imports))
    with path.open("a", encoding="utf-8") as fh:
        for record in records:
            name = record["theorem"]
            if record["status"] != "proved" or name in done:
                continue
            row = rows[name]
            theorem = Theorem(name, row["statement"], row["header"])
            if backend.render_proof(theorem, record["proof"]) != record["proof_text"]:
                entry = {"theorem": name, "ok": False, "axioms": [],
                         "messages": ["the recorded proof text is not the rendering of its tactics"]}
            else:
                verdict = backend.verify(theorem, record["proof"])
                entry = {"theorem": name, "ok": verdict.ok, "axioms": list(verdict.axioms),
                         "messages": list(verdict.messages)}
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done[name] = entry
    backend.close()
    return list(done.values())


def time_shares(records: list[dict[str, Any]]) -> dict[str, float]:
    """How the search workers' wall time (each attempt's ``seconds``) divides up."""
    searched = [r for r in records if r.get("stats")]
    total = sum(r["seconds"] for r in searched)
    stats = [r["stats"] for r in searched]
    tactic = sum(s["tactic_seconds"] for s in stats)
    verify = sum(s["verify_seconds"] for s in stats)
    model = sum(s["model_seconds"] for s in stats)
    wall = sum(s["wall_seconds"] for s in stats)
    outside = total - wall
    return {"worker_seconds": round(total, 1), "tactic": tactic / total if total else 0.0,
            "verification": verify / total if total else 0.0, "policy": model / total if total else 0.0,
            "startup_and_close": outside / total if total else 0.0,
            "search_bookkeeping": (wall - tactic - verify - model) / total if total else 0.0}


def plot(records: list[dict[str, Any]], baseline: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    proved = [r for r in records if r["status"] == "proved"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    costs = sorted(r["stats"]["expansions"] for r in proved)
    axes[0].step(costs, range(1, len(costs) + 1), where="post", label="step search")
    axes[0].set_xlabel("expansions")
    seconds = sorted(r["seconds"] for r in proved)
    axes[1].step(seconds, range(1, len(seconds) + 1), where="post", label="step search")
    one_call = sorted(r["seconds"] for r in baseline.values() if r["status"] == "proved")
    axes[1].step(one_call, range(1, len(one_call) + 1), where="post", label="one-call baseline")
    axes[1].set_xlabel("seconds per theorem")
    for axis in axes:
        axis.axhline(len(one_call), color="grey", linestyle=":", label="baseline total")
        axis.set_ylabel("theorems solved")
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarise(items: list[BenchmarkItem], out: Path, args: argparse.Namespace) -> dict[str, Any]:
    rows = {json.loads(line)["name"]: json.loads(line) for line in (out / "rows.jsonl").open()}
    records = [r for r in read_jsonl(out / "sweep" / "results.jsonl") if r["attempt"] == 1]
    baseline = {r["theorem"]: r for r in read_jsonl(out / "baseline.jsonl")}
    checked = recheck(records, rows, out)
    # Both sides are scored on the same rows: those that elaborate (no coq_8_16 mark). A row the search's
    # safety filter refuses counts as not proved, as it does for the baseline, whose verifier refuses it too.
    elaborating = {name for name, row in rows.items() if "coq_8_16" not in row}
    valid = [r for r in records if r["theorem"] in elaborating]
    refused = sorted(r["theorem"] for r in valid if r["status"] == "invalid")
    proved = [r for r in valid if r["status"] == "proved"]
    base = baseline_summary(b for name, b in baseline.items() if name in elaborating)
    rate = len(proved) / len(elaborating) if elaborating else 0.0
    searched_seconds = [r["seconds"] for r in valid if r["status"] != "invalid"]
    axioms = sorted({a for c in checked for a in c["axioms"]})
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "benchmark": str(args.benchmark), "split": args.split, "sample": str(args.sample or "whole split"),
        "budget": {"max_expansions": args.max_expansions, "time_limit": args.time_limit,
                   "workers": args.workers, "tactic_timeout": args.tactic_timeout, "alpha": args.alpha,
                   "keep_coqtops": args.keep_coqtops, "audit_reuse": args.audit_reuse},
        "theorems": len(items), "finished": len(records), "invalid": len(items) - len(elaborating),
        "refused": refused,
        "search": {"proved": len(proved), "valid": len(elaborating), "pass_at_1": rate,
                   "seconds_mean": statistics.fmean(searched_seconds) if searched_seconds else 0.0,
                   "seconds_median": statistics.median(searched_seconds) if searched_seconds else 0.0},
        "baseline": base,
        "ratio": rate / base["pass_rate"] if base["pass_rate"] else None,
        "recheck": {"proofs": len(checked), "passed": sum(c["ok"] for c in checked), "axioms_used": axioms},
        "time_shares": time_shares([r for r in valid if r["status"] != "invalid"]),
        "verify_seconds_per_proved": (statistics.fmean(r["stats"]["verify_seconds"] for r in proved)
                                      if proved else None),
        "only_search": sorted(r["theorem"] for r in proved if baseline.get(r["theorem"], {}).get("status")
                              != "proved"),
        "only_baseline": sorted(n for n, r in baseline.items() if r["status"] == "proved"
                                and n not in {p["theorem"] for p in proved}),
        "imports": list(CoqTacticPolicy().imports),
        "solved_within": solved_within(proved, baseline, args),
    }
    (out / "summary.json").write_text(json.dumps(result, indent=2))
    (out / "summary.md").write_text(markdown(result))
    plot(records, baseline, out / "solved_vs_budget.png",
         f"miniF2F-rocq {args.split} ({result['sample']}): {len(proved)}/{len(valid)} search, "
         f"{base['proved']}/{base['valid']} one-call")
    return result


def solved_within(proved: list[dict[str, Any]], baseline: dict[str, dict[str, Any]], args: argparse.Namespace
                  ) -> dict[str, dict[str, int]]:
    """The solved-against-budget curve as numbers: theorems proved within k expansions and s seconds."""
    expansions = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= args.max_expansions]
    seconds = [t for t in (5, 10, 20, 30, 60, 120, 300) if t <= args.time_limit]
    return {
        "expansions": {str(k): sum(r["stats"]["expansions"] <= k for r in proved) for k in expansions},
        "seconds": {str(t): sum(r["seconds"] <= t for r in proved) for t in seconds},
        "baseline_seconds": {str(t): sum(b["status"] == "proved" and b["seconds"] <= t
                                         for b in baseline.values()) for t in seconds if t <= 10},
    }


def markdown(r: dict[str, Any]) -> str:
    s, b, t = r["search"], r["baseline"], r["time_shares"]
    budget = r["budget"]
    ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "n/a"
    return "\n".join([
        "| date | rows | budget | step search pass@1 | one-call baseline | ratio | search s/theorem "
        "(mean, median) | baseline s/theorem |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {r['date']} | {r['sample']} ({r['finished']} of {r['theorems']} finished, "
        f"{r['invalid']} invalid) "
        f"| {budget['max_expansions']} exp / {budget['time_limit']:g} s, {budget['workers']} workers | "
        f"{s['proved']}/{s['valid']} = {s['pass_at_1']:.1%} | {b['proved']}/{b['valid']} = "
        f"{b['pass_rate']:.1%} | {ratio} | {s['seconds_mean']:.1f}, {s['seconds_median']:.1f} | "
        f"{b['seconds_mean']:.1f} |",
        "",
        f"Worker wall time ({t['worker_seconds']:.0f} s): tactics {t['tactic']:.1%}, verification "
        f"{t['verification']:.1%}, policy {t['policy']:.1%}, "
        f"start-up and close {t['startup_and_close']:.1%}, "
        f"search bookkeeping {t['search_bookkeeping']:.1%}; verification "
        f"{r['verify_seconds_per_proved'] or 0:.1f} s per proved theorem.",
        f"Re-checked: {r['recheck']['passed']}/{r['recheck']['proofs']} proofs compile again with coqc "
        f"and pass "
        f"the axiom audit; axioms used: {', '.join(r['recheck']['axioms_used']) or 'none'}.",
        f"Proved only by the search: {len(r['only_search'])}; only by the baseline: "
        f"{', '.join(r['only_baseline']) or 'none'}. Refused by the search's safety filter (counted as not "
        f"proved): {', '.join(r['refused']) or 'none'}.",
        "",
        "Solved within a budget (step search): "
        + ", ".join(f"{k} exp: {n}" for k, n in r["solved_within"]["expansions"].items()) + "; "
        + ", ".join(f"{t} s: {n}" for t, n in r["solved_within"]["seconds"].items())
        + " (one-call baseline: " + ", ".join(f"{t} s: {n}" for t, n in
                                           r["solved_within"]["baseline_seconds"].items()) + ").",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", help="minif2f_rocq_valid.jsonl, or a miniF2F-rocq checkout")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--sample", type=Path, help="a file of theorem names, one a line")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-expansions", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--tactic-timeout", type=float, default=None)
    parser.add_argument("--alpha", type=float, default=None,
                        help="the search's length normalisation (default: the sweep's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-coqtops", type=int, default=2, help="idle coqtops each worker keeps")
    parser.add_argument("--audit-reuse", type=int, default=None,
                        help="proofs a worker's audit coqtop checks before it is replaced (0: a fresh one "
                             "per proof, the path before issue 13; default: the backend's)")
    parser.add_argument("--baseline-workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    items = select(load_benchmark(resolve_benchmark(args.benchmark), args.split, "coq"), args.sample)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = args.out / "rows.jsonl"
    write_rows(items, rows)
    logger.info("%d theorems; the one-call baseline first", len(items))
    run_baseline(load_benchmark(rows, assistant="coq"), args.out, workers=args.baseline_workers)
    logger.info("the step search")
    run_sweep(rows, args.out / "sweep", args)
    result = summarise(items, args.out, args)
    print((args.out / "summary.md").read_text())
    logger.info("summary: %s", json.dumps(result["search"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
