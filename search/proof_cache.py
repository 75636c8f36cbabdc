"""A proof cache shared by searches: proved goals with their tactic proofs, and goals an exhaustive
search failed on, keyed by ``goal_key`` (hypothesis names canonicalised).

Searches look a state up when they first reach it and publish after they finish: proofs only after the
whole proof was verified, failures only when the search exhausted everything reachable. A cached proof
is a hint, never a result: the search verifies the whole proof that uses it before it counts. A failure
is recorded with its ``FailureScope`` (the policy's fingerprint and the search's budget) and is reused only
by searches it covers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from search.failure_scope import FailureScope


@dataclass(frozen=True)
class FailureRecord:
    scope: FailureScope
    expansions: int  # expansions of the exhaustive search that failed


@dataclass(frozen=True)
class CacheEntry:
    proof: tuple[str, ...] | None = None  # tactics closing the goal, in canonical hypothesis names
    failures: tuple[FailureRecord, ...] = ()  # no two where one's scope covers the other's; () with a proof

    def failed_under(self, scope: FailureScope) -> bool:
        """Whether a recorded failure holds for a search under ``scope`` (see ``FailureScope.covers``)."""
        return any(record.scope.covers(scope) for record in self.failures)


@runtime_checkable
class ProofCache(Protocol):
    """Contract: ``lookup`` is cheap enough to call once per new state; publishing never blocks long."""

    def lookup(self, key: str) -> CacheEntry | None: ...

    def publish_proof(self, key: str, tactics: tuple[str, ...]) -> None: ...

    def publish_failure(self, key: str, scope: FailureScope, expansions: int) -> None: ...


@dataclass
class CacheStats:
    lookups: int = 0
    hits: int = 0  # lookups that found a proof
    failure_hits: int = 0  # lookups that found a recorded failure (under any scope)
    proofs: int = 0  # goals with a proof
    failures: int = 0  # goals with a failure and no proof

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class InMemoryProofCache:
    """The plain cache (one process). Keeps the shortest proof per goal; a proof overrides failures; of
    the failures, only those no other failure's scope covers."""

    def __init__(self) -> None:
        self._entries: dict[str, CacheEntry] = {}
        self.stats = CacheStats()

    def lookup(self, key: str) -> CacheEntry | None:
        self.stats.lookups += 1
        entry = self._entries.get(key)
        if entry is not None:
            if entry.proof is not None:
                self.stats.hits += 1
            else:
                self.stats.failure_hits += 1
        return entry

    def publish_proof(self, key: str, tactics: tuple[str, ...]) -> None:
        if not tactics:
            raise ValueError("a cached proof needs at least one tactic")
        old = self._entries.get(key)
        if old is not None and old.proof is not None and len(old.proof) <= len(tactics):
            return
        if old is None or old.proof is None:
            self.stats.proofs += 1
            if old is not None:
                self.stats.failures -= 1
        self._entries[key] = CacheEntry(tuple(tactics))

    def publish_failure(self, key: str, scope: FailureScope, expansions: int) -> None:
        old = self._entries.get(key)
        if old is not None and (old.proof is not None or old.failed_under(scope)):
            return
        if old is None:
            self.stats.failures += 1
        kept = tuple(r for r in (old.failures if old else ()) if not scope.covers(r.scope))
        self._entries[key] = CacheEntry(None, (*kept, FailureRecord(scope, expansions)))

    def stats_dict(self) -> dict[str, Any]:
        return self.stats.as_dict() | {"entries": len(self._entries)}

    def __len__(self) -> int:
        return len(self._entries)
