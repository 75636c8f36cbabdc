"""What a search returns: a frozen result with an explicit stop reason and its statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from search.graph import SearchGraph
from search.types import Verdict


class StopReason(Enum):
    """Why a search ended. Budgets are stop reasons, never node states."""

    PROVED = "proved"  # a proof passed whole-proof verification
    EXHAUSTED = "exhausted"  # no state left to expand
    EXPANSION_BUDGET = "expansion_budget"
    TIME_BUDGET = "time_budget"


@dataclass(slots=True)
class SearchStats:
    """Counters of one search. Times are seconds; model and tactic times are measured by the driver."""

    expansions: int = 0  # states handed to the policy
    tactic_calls: int = 0  # tactics run in the proof assistant
    new_states: int = 0
    duplicate_states: int = 0  # tactics that reached an already known state
    errors: int = 0
    timeouts: int = 0
    filtered: int = 0  # tactics the safety filter refused to send
    proofs_found: int = 0  # tactics that closed the last goal, before verification
    proofs_rejected: int = 0  # of those, the ones whole-proof verification refused
    cache_hits: int = 0  # states completed by a proof from the proof cache (then verified)
    cache_skips: int = 0  # states not expanded because the cache recorded a failure
    model_seconds: float = 0.0
    tactic_seconds: float = 0.0
    verify_seconds: float = 0.0
    wall_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Proof:
    """A verified proof: the linear tactic list, the full text the assistant checked, and its verdict."""

    tactics: tuple[str, ...]
    text: str
    verdict: Verdict


@dataclass(frozen=True)
class SearchResult:
    theorem: str
    stop_reason: StopReason
    proof: Proof | None
    stats: SearchStats
    graph: SearchGraph | None = field(default=None, compare=False, repr=False)

    @property
    def proved(self) -> bool:
        return self.stop_reason is StopReason.PROVED

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the graph is left out; export it with ``graph.to_networkx()``)."""
        proof = None
        if self.proof is not None:
            proof = {"tactics": list(self.proof.tactics), "text": self.proof.text,
                     "axioms": list(self.proof.verdict.axioms)}
        return {"theorem": self.theorem, "proved": self.proved, "stop_reason": self.stop_reason.value,
                "proof": proof, "stats": self.stats.as_dict()}
