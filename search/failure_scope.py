"""Under what a search failed: the policy (fingerprint) and the budget of the search that failed.

A failure in a proof cache means "with this policy and at most this budget, an exhaustive search found no
proof from this state". A later search may skip the state only when its policy has the same fingerprint
and its budget is nowhere larger: more tactics per state, a longer tactic limit, more expansions or more
time could find what the smaller search could not (tactic limits are cut to the time left, so the time
budget counts too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from search.config import SearchConfig
from search.validation import MAX_SECONDS, Validated, setting


def _at_least(found: float | None, wanted: float | None) -> bool:
    """``found >= wanted`` where ``None`` is unlimited."""
    if found is None:
        return True
    return wanted is not None and found >= wanted


def _fingerprint(policy: str) -> str | None:
    return None if policy.strip() else f"policy must be the policy's fingerprint, got {policy!r}"


@dataclass(frozen=True)
class FailureScope(Validated):
    """Raises ``ConfigError`` (a ``ValueError``) listing every bad field."""

    config_name = "failure scope"

    policy: str = setting(check=_fingerprint, help="fingerprint of the policy (search.policy_identity)")
    tactics_per_node: int = setting(min=1, help="tactics asked for per state")
    tactic_timeout: float = setting(above=0, max=MAX_SECONDS, help="seconds per tactic")
    max_expansions: int | None = setting(min=1, help="expansions of the search; None: unlimited")
    time_limit: float | None = setting(above=0, max=MAX_SECONDS,
        help="seconds of the search; None: unlimited")

    @classmethod
    def of(cls, config: SearchConfig, policy: str) -> FailureScope:
        return cls(policy, config.tactics_per_node, config.tactic_timeout, config.max_expansions,
                   config.time_limit)

    def covers(self, other: FailureScope) -> bool:
        """Whether a failure found under ``self`` may be reused by a search under ``other``: the same
        policy, and ``self``'s budget at least ``other``'s in every respect."""
        return (self.policy == other.policy
                and self.tactics_per_node >= other.tactics_per_node
                and self.tactic_timeout >= other.tactic_timeout
                and _at_least(self.max_expansions, other.max_expansions)
                and _at_least(self.time_limit, other.time_limit))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> FailureScope:
        """Read ``as_dict``'s output back; raises ``ValueError`` for anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"a failure scope is a JSON object, got {data!r}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"bad failure scope {data!r}: {exc}") from exc
