"""The LLM-free baseline policy: a fixed list of tactics with prior scores."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from search.policy_identity import settings_digest
from search.types import Candidate

DEFAULT_LEAN_TACTICS: tuple[str, ...] = (
    "norm_num", "simp", "omega", "linarith", "nlinarith", "positivity", "ring", "decide", "aesop",
    "field_simp", "ring_nf", "simp_all", "norm_num at *", "intro", "constructor", "exact?",
)


@dataclass(frozen=True)
class FixedTacticPolicy:
    """Proposes the same tactics for every state, best prior first.

    ``priors`` are log-probabilities (<= 0), one per tactic; by default the list order defines them,
    each tactic a little less likely than the one before (log(1 / (i + 1)) normalised over the list).
    """

    tactics: tuple[str, ...] = DEFAULT_LEAN_TACTICS
    priors: tuple[float, ...] | None = None
    _ranked: tuple[Candidate, ...] = field(init=False, repr=False, compare=False)  # best prior first

    def __post_init__(self) -> None:
        if not self.tactics:
            raise ValueError("a fixed tactic policy needs at least one tactic")
        if len(set(self.tactics)) != len(self.tactics):
            raise ValueError("the tactic list repeats a tactic")
        if any(not t.strip() for t in self.tactics):
            raise ValueError("the tactic list holds an empty tactic")
        priors = self.priors
        if priors is None:
            weights = [1.0 / (i + 1) for i in range(len(self.tactics))]
            total = sum(weights)
            priors = tuple(math.log(w / total) for w in weights)
            object.__setattr__(self, "priors", priors)
        elif len(priors) != len(self.tactics):
            raise ValueError(f"{len(priors)} priors for {len(self.tactics)} tactics")
        elif any(p > 0 for p in priors):
            raise ValueError("priors are log-probabilities and must be <= 0")
        ranked = sorted(zip(self.tactics, priors, strict=True), key=lambda tp: -tp[1])
        object.__setattr__(self, "_ranked", tuple(Candidate(t, p) for t, p in ranked))

    @property
    def fingerprint(self) -> str:
        """Names the list and its priors for a proof cache (the policy is deterministic: one search per
        theorem and width is all it can do, so it has no ``for_attempt``)."""
        return settings_digest("tactics", [self.tactics, self.priors])

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [list(self._ranked[:n]) for _ in states]
