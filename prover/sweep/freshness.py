"""A sweep's results count only for the statement they were found for.

Results are matched to a benchmark's theorems by name, and a resumed sweep (or ``prover report``) reads
the benchmark file as it is now. Each record therefore carries a digest of the header and statement it
attempted; a record whose digest is not that of the theorem now under its name (the file was edited, a
row replaced, a record from before digests) is stale: kept in ``results.jsonl`` (nothing is lost), but
neither counted nor treated as finished, so the theorem is attempted again.
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
    that theorem's (records of names not in ``theorems`` stay: nothing counts them). Logs how many were
    left out and for which theorems, naming ``where`` (the results folder)."""
    digests = {theorem.name: statement_digest(theorem) for theorem in theorems}
    kept, stale = [], []
    for record in records:
        expected = digests.get(record["theorem"])
        if expected is not None and record.get(DIGEST_FIELD) != expected:
            stale.append(record["theorem"])
        else:
            kept.append(record)
    if stale:
        names = sorted(set(stale))
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        logger.warning("%s: %d result(s) of %d theorem(s) were found for another header or statement than "
                       "the benchmark now states (%s): not counted, attempted again", where, len(stale),
                       len(names), shown)
    return kept
