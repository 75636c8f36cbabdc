"""A mixture of policies is a policy: each candidate's probability is the weighted sum of the
probabilities the parts give it (a part that does not propose it gives 0).

The mixture's top ``n`` are cut after merging: a part that ranks its whole list anyway (``ranks_all``:
the retrieval, premise and tactic-list policies) is asked for all of it, so a tactic the mixture ranks
high is never lost because one part ranked it just below ``n``. Any other part (a sampling model, whose
candidates cost a generation each) is asked for ``n``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from search.policy_identity import code_digest, fingerprint_of, for_attempt, settings_digest
from search.protocols import Policy
from search.types import Candidate

ALL = 1 << 30  # "every candidate" to a part that ranks its whole list


class MixturePolicy:
    """``parts``: (policy, weight > 0) pairs; weights are normalised to sum to 1."""

    def __init__(self, parts: Sequence[tuple[Policy, float]], *, width: int | None = None) -> None:
        if not parts or any(w <= 0 for _, w in parts):
            raise ValueError("a mixture needs at least one part, each with a weight > 0")
        total = sum(w for _, w in parts)
        self.parts = [(policy, w / total) for policy, w in parts]
        self._width = width

    @property
    def width(self) -> int | None:
        return self._width

    @property
    def fingerprint(self) -> str | None:
        """Names the parts (their fingerprints, in order) and their normalised weights, for a proof cache's
        failures; ``None`` when a part has none (then neither has the mixture)."""
        names = [fingerprint_of(policy) for policy, _ in self.parts]
        if any(name is None for name in names):
            return None
        return settings_digest("mixture", {
            "parts": [[name, weight] for name, (_, weight) in zip(names, self.parts, strict=True)],
            "code": code_digest("prover.retrieval.mixture")})

    def for_attempt(self, attempt: int) -> MixturePolicy:
        """The mixture for attempt ``attempt`` of pass@N: each part's own attempt (a sampling part draws
        anew, a deterministic one stays); this mixture itself when no part changes."""
        parts = [(for_attempt(policy, attempt), weight) for policy, weight in self.parts]
        if all(new is old for (new, _), (old, _) in zip(parts, self.parts, strict=True)):
            return self
        return MixturePolicy(parts, width=self._width)

    def for_theorem(self, theorem: object) -> MixturePolicy:
        """The mixture with each part that can be specialised to ``theorem`` (``for_theorem``, as the
        Coq tactic policy reads the header's definitions) specialised; the weights stay."""
        parts = []
        for policy, weight in self.parts:
            specialise = getattr(policy, "for_theorem", None)
            parts.append((specialise(theorem) if callable(specialise) else policy, weight))
        return MixturePolicy(parts, width=self._width)

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        mixed: list[dict[str, float]] = [{} for _ in states]
        for policy, weight in self.parts:
            asked = ALL if getattr(policy, "ranks_all", False) else n
            for probabilities, candidates in zip(mixed, policy.propose(states, asked), strict=True):
                for candidate in candidates:
                    probabilities[candidate.tactic] = (probabilities.get(candidate.tactic, 0.0)
                                                       + weight * math.exp(candidate.logprob))
        return [[Candidate(t, math.log(p)) for t, p in sorted(probs.items(), key=lambda tp: -tp[1])][:n]
                for probs in mixed]
