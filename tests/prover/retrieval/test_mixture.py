"""A mixture ranks the weighted sum of its parts' probabilities, cut to ``n`` only after merging."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from prover.retrieval import MixturePolicy
from search import FixedTacticPolicy
from search.types import Candidate

A = FixedTacticPolicy(("a", "b", "e"), priors=tuple(math.log(p) for p in (0.5, 0.3, 0.2)))
B = FixedTacticPolicy(("e", "d", "f"), priors=tuple(math.log(p) for p in (0.4, 0.35, 0.25)))


def test_a_candidate_one_part_ranks_below_n_keeps_that_part_s_probability() -> None:
    """e is A's third and B's first: 0.5 * 0.2 + 0.5 * 0.4 = 0.3 puts it first, before a (0.25);
    asking each part for only two candidates would have scored it 0.2 and ranked a first."""
    (ranked,) = MixturePolicy([(A, 0.5), (B, 0.5)]).propose(["state"], 2)
    assert [c.tactic for c in ranked] == ["e", "a"]
    assert [c.logprob for c in ranked] == pytest.approx([math.log(0.3), math.log(0.25)])


class Sampler:
    """A part that does not rank its whole list: asked for exactly ``n``."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.asked.append(n)
        return [[Candidate("s", 0.0)] for _ in states]


def test_a_part_that_samples_is_asked_for_n_only() -> None:
    sampler = Sampler()
    (ranked,) = MixturePolicy([(A, 0.5), (sampler, 0.5)]).propose(["state"], 3)
    assert sampler.asked == [3]
    assert [c.tactic for c in ranked] == ["s", "a", "b"]
