"""Verification cost per proved theorem: the axiom audit in a fresh coqtop per proof (before issue 13's
fix, ``audit_reuse=0``) against the persistent audit coqtop (``audit_reuse`` > 0), in this process, on
the same proofs.

Run: ``python benchmarks/bench_coq_verify.py [--proofs RESULTS] [--rows BENCH] [--limit N] [--rounds R]
[--sweep DIR ...] [--out FILE]``. The proofs are the first-attempt proofs a sweep recorded in its
``results.jsonl``, by default the whole-split miniF2F-rocq valid run's (101 proofs,
``runs/minif2f_rocq/valid_64x60/sweep/results.jsonl``, written by ``bench_minif2f_rocq.py``); the rows
(header and statement) come from ``../shared/benchmarks/minif2f_rocq_valid.jsonl``. Each proof is verified
by both backends, alternately first, ``--rounds`` times; every verdict must agree (accepted or not, the
same axioms). The header of each theorem is checked once up front, as the sweep's sessions do before any
proof is verified, so both sides time what a sweep's verification costs.

Reported per path: wall-clock and CPU seconds per verification (mean, median; CPU counts coqc, the audit
coqtops and any header check, which is load-insensitive where wall time is not), their ratio, and the
persistent auditor's resident memory at the end. ``--sweep DIR`` (a sweep's results folder, repeatable)
adds the share of its workers' wall time in tactics, verification, the policy and start-up
(``bench_minif2f_rocq.time_shares``) and verification seconds per proved theorem.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_minif2f_rocq import read_jsonl, time_shares  # noqa: E402

from prover.sweep.benchmark import load_benchmark  # noqa: E402
from search.backends.coq import CoqBackend, CoqBackendConfig, CoqTacticPolicy  # noqa: E402
from search.backends.coq.header_freshness import check_header_statement  # noqa: E402
from search.types import Theorem, Verdict  # noqa: E402

logger = logging.getLogger("bench_coq_verify")

PROOFS = ROOT / "runs" / "minif2f_rocq" / "valid_64x60" / "sweep" / "results.jsonl"
ROWS = ROOT.parent / "shared" / "benchmarks" / "minif2f_rocq_valid.jsonl"


def load_proofs(proofs: Path, rows: Path, limit: int | None) -> list[tuple[Theorem, list[str]]]:
    """The first-attempt proofs of a sweep's ``results.jsonl``, each with its row's theorem."""
    theorems = {item.theorem.name: item.theorem for item in load_benchmark(rows, assistant="coq")}
    proved = [r for r in read_jsonl(proofs) if r["status"] == "proved" and r.get("attempt", 1) == 1]
    found = []
    for entry in proved[:limit]:
        if entry["theorem"] not in theorems:
            raise SystemExit(f"{proofs}: {entry['theorem']} is not a row of {rows}")
        found.append((theorems[entry["theorem"]], list(entry["proof"])))
    return found


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss(pid: int | None) -> int:
    """Resident bytes of a live process (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def auditors_cpu(backend: CoqBackend) -> float:
    return sum(process_cpu(a.pid) for a in backend.auditors.idle()) if backend.auditors else 0.0


def timed(backend: CoqBackend, theorem: Theorem, tactics: list[str]) -> tuple[Verdict, float, float]:
    """The verdict, wall seconds and CPU seconds of every Coq process it ran: reaped children, plus the
    idle auditors' CPU after minus before (an auditor replaced meanwhile is reaped, so counted whole)."""
    cpu_before, audit_before = children_cpu(), auditors_cpu(backend)
    started = time.perf_counter()
    verdict = backend.verify(theorem, tactics)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before + auditors_cpu(backend) - audit_before
    return verdict, wall, cpu


BEFORE = "fresh audit coqtop per proof (before)"
AFTER = "persistent audit coqtop (after)"


def measure(proofs: list[tuple[Theorem, list[str]]], rounds: int) -> dict[str, Any]:
    """Verify every proof with both backends, ``rounds`` times, alternately first; the figures."""
    imports = CoqTacticPolicy().imports
    backends = {BEFORE: CoqBackend(CoqBackendConfig(imports=imports, audit_reuse=0)),
                AFTER: CoqBackend(CoqBackendConfig(imports=imports))}
    auditors = backends[AFTER].auditors
    assert auditors is not None
    for first in {theorem.header: theorem for theorem, _ in proofs}.values():
        check_header_statement(first, backends[AFTER].config, auditors.directory())
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in backends}
    disagreements, rejected, per_proof = [], [], []
    try:
        for round_ in range(rounds):
            for index, (theorem, tactics) in enumerate(proofs):
                order = list(backends) if (index + round_) % 2 == 0 else list(reversed(backends))
                verdicts = {}
                for name in order:
                    verdict, wall, cpu = timed(backends[name], theorem, tactics)
                    times[name]["wall"].append(wall)
                    times[name]["cpu"].append(cpu)
                    verdicts[name] = (verdict.ok, list(verdict.axioms))
                per_proof.append({"theorem": theorem.name, "round": round_ + 1, **{
                    f"{key} {kind}": round(times[name][kind][-1], 3)
                    for key, name in (("before", BEFORE), ("after", AFTER)) for kind in ("wall", "cpu")}})
                if verdicts[BEFORE] != verdicts[AFTER]:
                    disagreements.append({"theorem": theorem.name, **verdicts})
                if round_ == 0 and not (verdicts[BEFORE][0] or verdicts[AFTER][0]):
                    rejected.append(theorem.name)
                logger.info("round %d, %d/%d %s: %s", round_ + 1, index + 1, len(proofs), theorem.name,
                            ", ".join(f"{times[n]['wall'][-1]:.2f} s" for n in backends))
        rss = sum(process_rss(a.pid) for a in auditors.idle())
    finally:
        for backend in backends.values():
            backend.close()
    paths = {name: figures(series) for name, series in times.items()}
    return {"verifications_per_path": len(proofs) * rounds, "paths": paths,
            "ratio_wall_mean": round(paths[BEFORE]["wall_mean"] / paths[AFTER]["wall_mean"], 2),
            "ratio_cpu_mean": round(paths[BEFORE]["cpu_mean"] / paths[AFTER]["cpu_mean"], 2),
            "auditors_started": auditors.started, "auditor_rss_mib_at_end": round(rss / 2**20),
            "disagreements": disagreements, "rejected_by_both": rejected, "per_proof": per_proof}


def figures(series: dict[str, list[float]]) -> dict[str, float]:
    """Mean and median of each series, in seconds."""
    found = {}
    for kind, values in series.items():
        found[f"{kind}_mean"] = round(statistics.fmean(values), 3)
        found[f"{kind}_median"] = round(statistics.median(values), 3)
    return found


def sweep_figures(folder: Path) -> dict[str, Any]:
    """Time shares of a sweep's workers and verification seconds per proved theorem."""
    records = [r for r in read_jsonl(folder / "results.jsonl") if r.get("attempt", 1) == 1]
    searched = [r for r in records if r.get("stats") and r["status"] != "invalid"]
    proved = [r for r in searched if r["status"] == "proved"]
    verify = [r["stats"]["verify_seconds"] for r in proved]
    return {"folder": str(folder), "searched": len(searched), "proved": len(proved),
            "verify_seconds_per_proved": round(statistics.fmean(verify), 2) if verify else None,
            "time_shares": {k: round(v, 4) for k, v in time_shares(searched).items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proofs", type=Path, default=PROOFS, help="a sweep's results.jsonl")
    parser.add_argument("--rows", type=Path, default=ROWS)
    parser.add_argument("--limit", type=int, default=None, help="only the first N proofs")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--sweep", type=Path, action="append", default=[], help="a sweep's results folder")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    proofs = load_proofs(args.proofs, args.rows, args.limit)
    result = {"date": datetime.now(UTC).date().isoformat(), "machine": f"{os.uname().machine}, "
              f"{os.cpu_count()} CPUs", "load_average_at_start": os.getloadavg(), "proofs": str(args.proofs),
              "verification": measure(proofs, args.rounds),
              "load_average_at_end": os.getloadavg(),
              "sweeps": [sweep_figures(folder) for folder in args.sweep]}
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
