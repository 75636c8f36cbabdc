"""A sweep's results count only for the statement they were found for.

Results are matched to a benchmark's theorems by name, and a resumed sweep (or ``prover report``) reads
the benchmark file as it is now. Each record therefore carries a digest of the header and statement it
attempted; a record whose digest is not that of the theorem now under its name (the file was edited, a
row replaced) is stale: kept in ``results.jsonl`` (nothing is lost), but neither counted nor treated as
finished, so the theorem is attempted again. A proved record from before digests is stale too (its text
cannot say which statement it was checked against); one that claims no proof still counts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from search.types import Theorem

logger = logging.getLogger(__name__)

DIGEST_FIELD = "statement_digest"


def statement_digest(theorem: Theorem) -> str:
    """Names exactly what a proof of ``theorem`` proves: its header and statement, byte for byte."""
    return hashlib.sha256(json.dumps([theorem.header, theorem.statement]).encode()).hexdigest()[:20]


def current_records(theorems: Sequence[Theorem], records: Sequence[dict[str, Any]],
                    where: str) -> list[dict[str, Any]]:
    """``records`` without the stale ones: those of a theorem of ``theorems`` whose digest differs from
    that theorem's (records of names not in ``theorems`` stay: nothing counts them). A record from before
    digests counts only when it claims no proof: which statement a recorded proof was checked against
    cannot be told from its text (a shortened header or a comment can hold the same words), so such a
    theorem is attempted again. Logs how many were left out and for which theorems, naming ``where``
    (the results folder)."""
    digests = {theorem.name: statement_digest(theorem) for theorem in theorems}
    kept: list[dict[str, Any]] = []
    stale: list[str] = []
    legacy: list[str] = []
    for record in records:
        expected = digests.get(record["theorem"])
        if expected is None or is_current(record, expected):
            kept.append(record)
        else:
            (stale if record.get(DIGEST_FIELD) is not None else legacy).append(record["theorem"])
    for names, why in ((stale, "were found for another header or statement than the benchmark now states"),
                       (legacy, "are proofs recorded before results named the statement they prove (an "
                                "older version of the prover)")):
        if names:
            unique = sorted(set(names))
            shown = ", ".join(unique[:5]) + (" ..." if len(unique) > 5 else "")
            logger.warning("%s: %d result(s) of %d theorem(s) %s (%s): not counted, attempted again", where,
                           len(names), len(unique), why, shown)
    return kept


def benchmark_digest(theorems: Sequence[Theorem]) -> str:
    """Names the statements a run works on (each theorem's name and ``statement_digest``), for a run folder
    to refuse a resume after the benchmark file changed under it."""
    pairs = sorted([theorem.name, statement_digest(theorem)] for theorem in theorems)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:20]


def is_current(record: dict[str, Any], digest: str) -> bool:
    """Whether ``record`` counts for the theorem whose statement now has ``digest``: found for that
    statement, or recorded before digests and claiming no proof."""
    recorded = record.get(DIGEST_FIELD)
    return recorded == digest if recorded is not None else record.get("status") != "proved"
