"""Configuration of one best-first search: scoring, width and budgets."""

from __future__ import annotations

from dataclasses import dataclass

from search.priority import DEFAULT_PRIORITY, priority_function
from search.validation import MAX_SECONDS, Validated, setting


def _known_priority(name: str) -> str | None:
    try:
        priority_function(name)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True, kw_only=True)
class SearchConfig(Validated):
    """Validated settings of a best-first search. Defaults follow BFS-Prover-V2's released code."""

    config_name = "search configuration"

    priority: str = setting(
        DEFAULT_PRIORITY, check=_known_priority,
        help="node priority that orders the frontier, by its name in search.priority's registry: "
             "bfs-prover-v2 (sum of tactic log-probs / depth^alpha), breadth-first, or one registered with "
             "register_priority")
    alpha: float = setting(
        2.0, min=0, max=10, help="length normalisation: node score = sum of tactic log-probs / depth^alpha")
    tactics_per_node: int = setting(4, min=1, help="tactics asked of the policy for each expanded state")
    max_expansions: int | None = setting(
        None, min=1, help="stop after this many expanded states (default: no limit)")
    time_limit: float | None = setting(
        600.0, above=0, max=MAX_SECONDS, help="wall-clock budget of one search, in seconds (default: 600)")
    tactic_timeout: float = setting(
        12.0, above=0, max=MAX_SECONDS, help="time limit of one tactic in the proof assistant, in seconds")
    max_depth: int | None = setting(
        None, min=1,
        help="the longest proof searched: states this many steps deep are not expanded (default: no limit)")
    expansion_width: int = setting(
        1, min=1, help="states expanded at once; 1 is strict best-first order, more overlaps work")
    skip_failed_goals: bool = setting(
        True, help="with a proof cache, do not expand states an exhaustive search failed on")
