"""The proof cache shared by all search workers of a sweep: one Ray actor, and a client per worker.

The actor is a ``JournaledProofCache``: the plain ``InMemoryProofCache`` that also appends every entry it
takes to a journal in the sweep's results folder and reads it back when it starts, so a resumed (or
restarted) sweep keeps the proofs and failures found before. Every method is idempotent, so the actor may
restart and retry its calls. A lost or unreadable journal costs speed, never soundness: a cached proof is
always verified as part of the whole proof that uses it, and a failure is journaled with its
``FailureScope`` (policy fingerprint and budget), so a resumed sweep reuses it only where it holds. Failure
lines of older journals, written without a scope, are read as not reusable.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import ray

from prover.jsonl_repair import repair_torn_tail
from prover.theorem_input import InputError
from search import CacheEntry, FailureScope, InMemoryProofCache

logger = logging.getLogger(__name__)

JOURNAL = "proof_cache.jsonl"


class JournaledProofCache(InMemoryProofCache):
    """``InMemoryProofCache`` with an append-only journal at ``path`` (``None``: none)."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self._journal = None
        if path is None:
            return
        journal = Path(path)
        try:
            # a torn last entry is cut off (the next one would join it and be lost on every later
            # replay); a damaged line before it is only skipped by ``_replay``: the journal is best-effort
            repair_torn_tail(journal, data=self._replay(journal), check_lines=False)
            self._journal = journal.open("a", encoding="utf-8")
        except (OSError, InputError) as exc:
            logger.warning("proof cache journal %s unusable (%s): the %d entries read are kept, new entries "
                           "are not journaled", journal, exc, len(self))

    @classmethod
    def read(cls, path: Path) -> JournaledProofCache:
        """The cache a journal holds, read without writing to it (a report while the sweep runs)."""
        cache = cls(None)
        cache._replay(path)
        return cache

    def _replay(self, journal: Path) -> bytes:
        """Take the journal's entries; returns its bytes (empty when there is none)."""
        if not journal.exists():
            return b""
        data = journal.read_bytes()
        unscoped = 0
        for number, raw in enumerate(data.splitlines(), start=1):
            try:
                row = json.loads(raw.decode("utf-8"))  # a line cut mid-character by a kill: skipped
                if row.get("proof"):
                    super().publish_proof(row["key"], tuple(row["proof"]))
                elif "scope" not in row:
                    unscoped += 1  # an older journal's failure: under which policy and budget is unknown
                else:
                    super().publish_failure(row["key"], FailureScope.from_dict(row["scope"]),
                                            int(row["failed"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                logger.warning("%s:%d: unreadable cache entry skipped", journal, number)
        if unscoped:
            logger.info("%s: %d failures without policy and budget (an older journal) are not reused",
                        journal, unscoped)
        logger.info("proof cache: %d entries from %s", len(self), journal)
        return data

    def publish_proof(self, key: str, tactics: tuple[str, ...]) -> None:
        before = self._entries.get(key)
        super().publish_proof(key, tactics)
        if self._entries.get(key) is not before:
            self._write({"key": key, "proof": list(tactics)})

    def publish_failure(self, key: str, scope: FailureScope, expansions: int) -> None:
        before = self._entries.get(key)
        super().publish_failure(key, scope, expansions)
        if self._entries.get(key) is not before:
            self._write({"key": key, "failed": expansions, "scope": scope.as_dict()})

    def _write(self, row: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._journal.flush()


def start_cache_actor(journal: str | None = None) -> Any:
    """The cache actor, on the driver's node when it can be (where ``journal``, the results folder's file,
    lives): it then lives as long as the sweep."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    actor_class = ray.remote(JournaledProofCache).options(
        num_cpus=0, max_restarts=3, max_task_retries=3, max_concurrency=1, scheduling_strategy=here)
    return actor_class.remote(journal)


class SharedProofCache:
    """The worker-side client (implements ``search.ProofCache``): lookups ask the actor once per key
    and remember proofs; publications are sent without waiting."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor
        self._known: dict[str, CacheEntry] = {}

    def lookup(self, key: str) -> CacheEntry | None:
        entry = self._known.get(key)
        if entry is None:
            entry = ray.get(self._actor.lookup.remote(key))
            if entry is not None and entry.proof is not None:
                self._known[key] = entry
        return entry

    def publish_proof(self, key: str, tactics: tuple[str, ...]) -> None:
        self._actor.publish_proof.remote(key, tactics)

    def publish_failure(self, key: str, scope: FailureScope, expansions: int) -> None:
        self._actor.publish_failure.remote(key, scope, expansions)

    def __getstate__(self) -> dict[str, Any]:
        return {"_actor": self._actor, "_known": {}}


def cache_stats(actor: Any) -> dict[str, Any]:
    return ray.get(actor.stats_dict.remote())
