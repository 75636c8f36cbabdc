"""Configuration of one best-first search: scoring, width and budgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.priority import DEFAULT_PRIORITY, priority_function


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Validated settings of a best-first search. Defaults follow BFS-Prover-V2's released code."""

    priority: str = field(
        default=DEFAULT_PRIORITY,
        metadata={"help": "node priority that orders the frontier, by its name in search.priority's "
                          "registry: bfs-prover-v2 (sum of tactic log-probs / depth^alpha), breadth-first, "
                          "or one registered with register_priority"},
    )
    alpha: float = field(
        default=2.0,
        metadata={"help": "length normalisation: node score = sum of tactic log-probs / depth^alpha"},
    )
    tactics_per_node: int = field(
        default=4, metadata={"help": "tactics asked of the policy for each expanded state"}
    )
    max_expansions: int | None = field(
        default=None, metadata={"help": "stop after this many expanded states (default: no limit)"}
    )
    time_limit: float | None = field(
        default=600.0, metadata={"help": "wall-clock budget of one search, in seconds"}
    )
    tactic_timeout: float = field(
        default=12.0, metadata={"help": "time limit of one tactic in the proof assistant, in seconds"}
    )
    max_depth: int | None = field(
        default=None, metadata={"help": "do not expand states deeper than this (default: no limit)"}
    )
    expansion_width: int = field(
        default=1,
        metadata={"help": "states expanded at once; 1 is strict best-first order, more overlaps work"},
    )

    skip_failed_goals: bool = field(
        default=True,
        metadata={"help": "with a proof cache, do not expand states an exhaustive search failed on"},
    )

    def __post_init__(self) -> None:
        problems = []
        try:
            priority_function(self.priority)
        except ValueError as exc:
            problems.append(str(exc))
        if self.alpha < 0:
            problems.append(f"alpha must be >= 0, got {self.alpha}")
        if self.tactics_per_node < 1:
            problems.append(f"tactics_per_node must be >= 1, got {self.tactics_per_node}")
        if self.max_expansions is not None and self.max_expansions < 1:
            problems.append(f"max_expansions must be >= 1, got {self.max_expansions}")
        if self.time_limit is not None and self.time_limit <= 0:
            problems.append(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.tactic_timeout <= 0:
            problems.append(f"tactic_timeout must be > 0 seconds, got {self.tactic_timeout}")
        if self.max_depth is not None and self.max_depth < 1:
            problems.append(f"max_depth must be >= 1, got {self.max_depth}")
        if self.expansion_width < 1:
            problems.append(f"expansion_width must be >= 1, got {self.expansion_width}")
        if problems:
            raise ValueError("invalid search configuration: " + "; ".join(problems))
