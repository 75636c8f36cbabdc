"""The proof cache shared by all search workers of a sweep: one Ray actor, and a client per worker.

The actor wraps the plain ``InMemoryProofCache``. Every method is idempotent, so the actor may restart
and retry its calls; a restarted cache is empty, which costs speed, never soundness (a cached proof is
always verified as part of the whole proof that uses it).
"""

from __future__ import annotations

from typing import Any

import ray

from search import CacheEntry, InMemoryProofCache


def start_cache_actor() -> Any:
    """The cache actor, on the driver's node when it can be: it then lives as long as the sweep."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    actor_class = ray.remote(InMemoryProofCache).options(
        num_cpus=0, max_restarts=3, max_task_retries=3, max_concurrency=1, scheduling_strategy=here)
    return actor_class.remote()


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

    def publish_failure(self, key: str, expansions: int) -> None:
        self._actor.publish_failure.remote(key, expansions)

    def __getstate__(self) -> dict[str, Any]:
        return {"_actor": self._actor, "_known": {}}


def cache_stats(actor: Any) -> dict[str, Any]:
    return ray.get(actor.stats_dict.remote())
