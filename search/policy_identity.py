"""What names a policy for a shared proof cache, and how a policy varies between attempts (pass@N).

A policy may declare ``fingerprint``: a string that is equal for two policies exactly when they propose
alike, so it covers the model or tactic list and every sampling setting (temperature, top-p, seed ...).
A proof cache reuses a recorded failure only under the fingerprint it was found with; a policy without
one never shares failures. A policy may also offer ``for_attempt(attempt)``: the policy for attempt
``attempt`` (1-based) of a theorem, which must sample differently from the other attempts (another seed
or sampling stream) and carry a fingerprint that says so. A deterministic policy offers none: its
attempts are identical searches.

For a sampling policy "propose alike" holds in distribution only: the same settings draw other tactics
at the same state on another call (the generator has moved on). A failure it recorded says that one
draw of its samples failed there, and sharing it keeps other searches under the same settings from
drawing again at that state; pass@N attempts sample with their own settings (``for_attempt``), so they
never skip a state on another attempt's failure. Nothing is counted proved through a shared failure;
a theorem can only be left unproved by one (the cost of not re-sampling a known dead end).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.protocols import Policy
from search.types import Candidate


def fingerprint_of(policy: object) -> str | None:
    """The policy's declared ``fingerprint``, or ``None`` when it declares no non-empty string."""
    value = getattr(policy, "fingerprint", None)
    return value if isinstance(value, str) and value else None


def for_attempt(policy: Policy, attempt: int) -> Policy:
    """The policy for attempt ``attempt`` (1-based): ``policy.for_attempt(attempt)`` where it exists, else
    ``policy`` itself (a deterministic policy repeats its search)."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    vary = getattr(policy, "for_attempt", None)
    return vary(attempt) if callable(vary) else policy


def settings_digest(kind: str, settings: Any) -> str:
    """``kind:`` and a short stable hash of ``settings`` (JSON-serialisable; key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@functools.cache
def code_digest(*modules: str) -> str:
    """A short stable hash of the source of ``modules`` (dotted names). A policy whose proposals come from
    rules written in code (the Coq tactic policy's candidates, retrieval's name mapping) puts it in its
    fingerprint, so failures an older version of the rules found are not reused once the rules change.
    Raises ``ValueError`` for a module without a source file."""
    digest = hashlib.sha256()
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # a parent package is missing
            spec = None
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            raise ValueError(f"no source file for module {name!r}")
        digest.update(name.encode() + b"\0" + Path(spec.origin).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AttemptStream:
    """One attempt's view of a sampling policy whose draws already differ from call to call (a model
    sampling from a random or seeded-and-advancing generator): proposals come from ``policy``, and the
    fingerprint names the attempt, so no attempt reuses another's failures."""

    policy: Policy
    base: str  # the sampling policy's own fingerprint
    attempt: int

    @property
    def fingerprint(self) -> str:
        return f"{self.base}#attempt={self.attempt}"

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return self.policy.propose(states, n)
