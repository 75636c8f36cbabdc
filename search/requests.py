"""The work a search hands out. A driver serves each request and gives the answer back to the search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from search.types import TacticState


@dataclass(frozen=True, slots=True)
class ExpandRequest:
    """Ask the policy for ``n`` tactics for the state of ``node``."""

    node: int
    state: TacticState
    n: int


@dataclass(frozen=True, slots=True)
class TacticRequest:
    """Run ``tactic`` on the state of ``node`` with a time limit of ``timeout`` seconds."""

    node: int
    state: TacticState
    tactic: str
    logprob: float
    timeout: float


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """Check the whole proof ``tactics`` (root to goal-closing tactic) from scratch.

    ``cached`` marks a proof completed from the proof cache: ``tactic`` then holds the cached tactics."""

    node: int
    tactic: str
    logprob: float
    tactics: tuple[str, ...]
    cached: bool = False


Request: TypeAlias = ExpandRequest | TacticRequest | VerifyRequest
