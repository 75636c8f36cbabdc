"""How far a running search has got, read from its plain state: for progress displays, never for the
search itself.

Drivers accept an ``observer``: a callable they call with the search after every answer they feed it,
on the thread that owns the search. An observer only reads; ``ProgressReader.read`` turns the search
into a frozen ``SearchProgress`` that any thread may then hold (a display refreshing on its own thread).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search.best_first import BestFirstSearch

SearchObserver = Callable[["BestFirstSearch"], None]


@dataclass(frozen=True)
class SearchProgress:
    """One reading of a search. Times in seconds; ``None`` means no such budget (or no open state)."""

    expansions: int
    open_states: int  # states waiting to be expanded
    states: int  # distinct states found
    goals_closed: int  # the most goals closed along one path of the graph (multi-goal states)
    best_score: float | None  # the highest priority among open states
    max_depth: int  # the deepest state found
    tactics_run: int
    errors: int
    timeouts: int
    proofs_found: int  # proofs found before verification
    elapsed: float
    time_left: float | None
    expansions_left: int | None

    @property
    def tactics_per_second(self) -> float:
        return self.tactics_run / self.elapsed if self.elapsed > 0 else 0.0


class ProgressReader:
    """Reads one search repeatedly; work per reading is proportional to the states found since the last
    one (goal counts along paths are kept per node)."""

    def __init__(self) -> None:
        self._closed: list[int] = []  # per node: goals closed along its first path
        self._best_closed = 0
        self._max_depth = 0

    def read(self, search: BestFirstSearch) -> SearchProgress:
        nodes = search.graph.nodes
        for node in nodes[len(self._closed):]:
            closed = 0
            if node.parent is not None:
                parent = nodes[node.parent]
                fewer = parent.state.num_goals - node.state.num_goals if node.state.num_goals else 0
                closed = self._closed[node.parent] + max(fewer, 0)
            self._closed.append(closed)
            self._best_closed = max(self._best_closed, closed)
            self._max_depth = max(self._max_depth, node.depth)
        open_states, best = search.frontier()
        stats, config = search.stats, search.config
        elapsed = stats.wall_seconds if search.done else search.elapsed()
        time_left = None if config.time_limit is None else max(config.time_limit - elapsed, 0.0)
        expansions_left = None
        if config.max_expansions is not None:
            expansions_left = max(config.max_expansions - stats.expansions, 0)
        return SearchProgress(
            expansions=stats.expansions, open_states=open_states, states=len(nodes),
            goals_closed=self._best_closed, best_score=best, max_depth=self._max_depth,
            tactics_run=stats.tactic_calls, errors=stats.errors, timeouts=stats.timeouts,
            proofs_found=stats.proofs_found, elapsed=elapsed, time_left=time_left,
            expansions_left=expansions_left)
