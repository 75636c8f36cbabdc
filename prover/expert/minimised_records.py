"""A round's found proofs made 1-minimal before they become data (``search.minimise``).

Each proved sweep record of two or more steps is replayed in a fresh session of the run's backend with
single steps left out; a shorter proof replaces the record's proof and trajectory only once the backend's
``verify`` (Coq: coqc and the axiom audit) accepted it, so the data never holds a step of an unchecked
proof. The kept steps keep their search log-probs; a step whose state is unchanged keeps the tactics the
assistant rejected there (the preferences), the others lose them (they were rejected at another state).
The record remembers the proof it came from (``minimised_from``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prover.expert.stages import write_jsonl
from prover.expert.trajectories import read_records
from prover.sweep.store import RESULTS_FILE
from search import Backend, InvalidTheoremError, Theorem
from search.minimise import Replay, minimise_proof

logger = logging.getLogger(__name__)

MINIMISED_DIR = "minimised"  # a round's folder for the records with minimised proofs (beside the sweep's)
MINIMISE_RULE = ("a proved data-search record of two or more steps is replayed with single steps left out "
                 "(passes front to back until one leaves none out); the shorter proof replaces it once the "
                 "backend's verify accepts it; round-NN/minimised/results.jsonl holds the records, "
                 "minimise.done.json the counts")


def minimise_folder(sweep: Path, out: Path, theorems: Mapping[str, Theorem], backend: Backend, *,
                    timeout: float | None) -> dict[str, int]:
    """Minimise the records of the sweep results folder ``sweep`` into ``out/results.jsonl`` (what
    ``prover.expert.trajectories`` reads like a sweep's); close ``backend``; return the counts."""
    try:
        records, counts = minimise_records(read_records(sweep), theorems, backend, timeout=timeout)
    finally:
        backend.close()
    write_jsonl(out / RESULTS_FILE, records)
    return dict(sorted(counts.items()))


def minimise_records(records: Iterable[dict[str, Any]], theorems: Mapping[str, Theorem], backend: Backend, *,
                     timeout: float | None, max_tactic_calls: int = 400,
                     ) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The records with each proof that can lose steps minimised; counts of what happened: ``minimised``,
    ``steps_removed``, ``minimal`` (no step could go), ``short`` (one step, or not proved), ``unknown`` (no
    theorem of that name or no trajectory), ``refused`` (a tactic the backend's filter refuses: nothing
    is sent), ``not_replayed``, ``unopened``, ``rejected`` (the shorter proof failed verification); in every
    case but ``minimised`` the record is kept as found."""
    out: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for record in records:
        proof = list(record.get("proof") or ())
        theorem = theorems.get(record.get("theorem", ""))
        if record.get("status") != "proved" or len(proof) < 2:
            counts["short"] += 1
        elif theorem is None or len(record.get("trajectory") or ()) != len(proof):
            counts["unknown"] += 1
        else:
            record = _minimised(record, proof, theorem, backend, timeout, max_tactic_calls, counts)
        out.append(record)
    return out, counts


def _minimised(record: dict[str, Any], proof: list[str], theorem: Theorem, backend: Backend,
               timeout: float | None, max_tactic_calls: int, counts: Counter[str]) -> dict[str, Any]:
    refused = next(((t, why) for t in proof if (why := backend.check_tactic(t)) is not None), None)
    if refused is not None:  # a results file is text on disk: its tactics pass the filter again
        logger.warning("minimisation: %s's proof holds a tactic the filter refuses (%r: %s); it is kept "
                       "as found", theorem.name, refused[0][:80], refused[1])
        counts["refused"] += 1
        return record
    try:
        session = backend.open(theorem)
    except InvalidTheoremError as exc:
        logger.warning("minimisation: %s cannot be opened again (%s); its proof is kept", theorem.name, exc)
        counts["unopened"] += 1
        return record
    try:
        short = minimise_proof(session, proof, timeout=timeout, max_tactic_calls=max_tactic_calls)
    finally:
        session.close()
    if short is None:
        logger.warning("minimisation: the proof of %s did not replay; it is kept", theorem.name)
        counts["not_replayed"] += 1
        return record
    if len(short.tactics) == len(proof):
        counts["minimal"] += 1
        return record
    verdict = backend.verify(theorem, short.tactics)
    if not verdict.ok:
        logger.warning("minimisation: the shorter proof of %s was rejected (%s); the found one is kept",
                       theorem.name, "; ".join(verdict.messages)[:300])
        counts["rejected"] += 1
        return record
    counts["minimised"] += 1
    counts["steps_removed"] += len(proof) - len(short.tactics)
    return record | {"proof": list(short.tactics), "proof_text": verdict.proof_text,
                     "axioms": list(verdict.axioms), "trajectory": _trajectory(record["trajectory"], short),
                     "minimised_from": proof}


def _trajectory(found: list[dict[str, Any]], short: Replay) -> list[dict[str, Any]]:
    steps = []
    for depth, (state, tactic, index) in enumerate(zip(short.states, short.tactics, short.kept, strict=True)):
        original = found[index]
        same_state = original.get("state") == state
        steps.append({"state": state, "tactic": tactic, "logprob": original.get("logprob", 0.0),
                      "depth": depth, "failed": original.get("failed", []) if same_state else []})
    return steps
