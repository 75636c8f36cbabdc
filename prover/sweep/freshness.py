"""A sweep's results count only for the statement they were found for.

Results are matched to a benchmark's theorems by name, and a resumed sweep (or ``prover report``) reads
the benchmark file as it is now. Each record therefore carries a digest of the header and statement it
attempted; a record whose digest is not that of the theorem now under its name (the file was edited, a
row replaced) is stale: kept in ``results.jsonl`` (nothing is lost), but neither counted nor treated as
finished, so the theorem is attempted again. A proved record from before digests counts when its proof
text states the theorem as it is now.
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
    digests counts when it claims no proof, or its checked proof text states the theorem as it is now
    (header and statement verbatim). Logs how many were left out and for which theorems, naming
    ``where`` (the results folder)."""
    by_name = {theorem.name: theorem for theorem in theorems}
    kept, stale, legacy = [], [], []
    for record in records:
        theorem = by_name.get(record["theorem"])
        digest = record.get(DIGEST_FIELD)
        if theorem is None:
            kept.append(record)
        elif digest is None and not _legacy_holds(record, theorem):
            legacy.append(record["theorem"])
        elif digest is not None and digest != statement_digest(theorem):
            stale.append(record["theorem"])
        else:
            kept.append(record)
    for names, why in ((stale, "were found for another header or statement than the benchmark now states"),
                       (legacy, "were recorded before results named their statement, and their proof text "
                                "does not state the theorem as the benchmark now does")):
        if names:
            unique = sorted(set(names))
            shown = ", ".join(unique[:5]) + (" ..." if len(unique) > 5 else "")
            logger.warning("%s: %d result(s) of %d theorem(s) %s (%s): not counted, attempted again", where,
                           len(names), len(unique), why, shown)
    return kept


def _legacy_holds(record: dict[str, Any], theorem: Theorem) -> bool:
    if record.get("status") != "proved":
        return True  # claims nothing proved
    text = record.get("proof_text")
    return isinstance(text, str) and theorem.statement.strip() in text and theorem.header.strip() in text
