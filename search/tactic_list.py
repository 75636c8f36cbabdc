"""The LLM-free baseline policy: a fixed list of tactics with prior scores."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from search.policy_identity import settings_digest
from search.types import Candidate
from search.validation import Validated, setting

DEFAULT_LEAN_TACTICS: tuple[str, ...] = (
    "norm_num", "simp", "omega", "linarith", "nlinarith", "positivity", "ring", "decide", "aesop",
    "field_simp", "ring_nf", "simp_all", "norm_num at *", "intro", "constructor", "exact?",
)


def _distinct(tactics: tuple[str, ...]) -> str | None:
    repeated = [tactic for tactic, count in Counter(tactics).items() if count > 1]
    if not repeated:
        return None
    return f"tactics must be distinct, got {', '.join(map(repr, repeated))} more than once"


def _log_probabilities(priors: tuple[float, ...]) -> str | None:
    bad = [p for p in priors if not p <= 0 or math.isinf(p)]
    return f"priors are log-probabilities and must be finite and <= 0, got {bad}" if bad else None


@dataclass(frozen=True)
class FixedTacticPolicy(Validated):
    """Proposes the same tactics for every state, best prior first. Raises ``ConfigError`` (a
    ``ValueError``) listing every problem of the list.

    ``priors`` are log-probabilities (<= 0), one per tactic; by default the list order defines them,
    each tactic a little less likely than the one before (log(1 / (i + 1)) normalised over the list).
    """

    config_name = "tactic list"
    ranks_all = True  # propose returns a prefix of one ranked list: asking for all of it costs nothing

    tactics: tuple[str, ...] = setting(DEFAULT_LEAN_TACTICS, nonblank=True, min_items=1, check=_distinct,
                                       help="the tactics proposed for every state")
    priors: tuple[float, ...] | None = setting(
        None, check=_log_probabilities, help="log-probability of each tactic; none: by list order")
    _ranked: tuple[Candidate, ...] = field(init=False, repr=False, compare=False)  # best prior first

    def cross_checks(self) -> Iterable[str]:
        if self.priors is not None and len(self.priors) != len(self.tactics):
            yield f"priors has {len(self.priors)} values for {len(self.tactics)} tactics"

    def __post_init__(self) -> None:
        super().__post_init__()
        priors = self.priors
        if priors is None:
            weights = [1.0 / (i + 1) for i in range(len(self.tactics))]
            total = sum(weights)
            priors = tuple(math.log(w / total) for w in weights)
            object.__setattr__(self, "priors", priors)
        ranked = sorted(zip(self.tactics, priors, strict=True), key=lambda tp: -tp[1])
        object.__setattr__(self, "_ranked", tuple(Candidate(t, p) for t, p in ranked))

    @property
    def fingerprint(self) -> str:
        """Names the list and its priors for a proof cache (the policy is deterministic: one search per
        theorem and width is all it can do, so it has no ``for_attempt``)."""
        return settings_digest("tactics", [self.tactics, self.priors])

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [list(self._ranked[:n]) for _ in states]
