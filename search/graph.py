"""The explored proof graph: states are nodes, tactics are edges.

States that print the same are one node, so the structure is a graph, not a tree. A node keeps the first
path that reached it (its ``parent`` edge); its depth, log-probability sum and priority come from that path.
The invariants of every field are written beside it and checked by ``SearchGraph.check_invariants``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from search.priority import PriorityError, PriorityFunction, ScoredPath, length_normalised
from search.types import TacticState

if TYPE_CHECKING:
    import networkx as nx

PROVED_SINK = "proved"


class Outcome(Enum):
    """What running a tactic from a node did."""

    STATE = "state"  # reached a state (new or already known); target is set
    PROOF = "proof"  # closed the last goal and the whole proof verified
    UNVERIFIED = "unverified"  # closed the last goal but whole-proof verification rejected it
    ERROR = "error"  # the proof assistant rejected the tactic
    TIMEOUT = "timeout"  # the tactic ran past its limit
    FILTERED = "filtered"  # the safety filter refused to send the tactic


@dataclass(slots=True)
class Node:
    id: int  # index in SearchGraph.nodes
    state: TacticState  # unique across the graph by its pretty-printed text
    depth: int  # 0 at the root, else parent's depth + 1
    logprob_sum: float  # 0 at the root, else parent's sum + the parent edge's log-prob
    priority: float  # the graph's score function of (state, depth, logprob_sum, alpha)
    parent: int | None  # None only at the root; the node whose tactic first reached this one
    tactic: str | None  # the tactic on the parent edge; None only at the root
    expanded: bool = False  # the policy was asked for this node's tactics
    expansion: int | None = None  # set exactly when expanded: its rank among expansions, 0 first
    expanded_after: int | None = None  # set exactly when expanded: len(edges) when it was expanded


@dataclass(frozen=True, slots=True)
class Edge:
    source: int
    tactic: str
    logprob: float
    outcome: Outcome
    target: int | None = None  # set exactly when outcome is STATE
    message: str | None = None  # the assistant's or the filter's message for failures
    cached: bool = False  # PROOF/UNVERIFIED: a proof cache's suffix, checked from a node never expanded


@dataclass
class SearchGraph:
    """Nodes, edges and the index that merges identical states. ``score`` is the node priority function
    (``search.priority``), BFS-Prover-V2's by default."""

    alpha: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    expansion_count: int = 0  # nodes expanded so far
    score: PriorityFunction = length_normalised

    @classmethod
    def with_root(cls, root: TacticState, alpha: float,
                  score: PriorityFunction = length_normalised) -> SearchGraph:
        graph = cls(alpha=alpha, score=score)
        graph.nodes.append(Node(0, root, 0, 0.0, graph.priority_of(root, 0, 0.0), None, None))
        graph.index[root.pp] = 0
        return graph

    def priority_of(self, state: TacticState, depth: int, logprob_sum: float) -> float:
        """The score of a node; raises ``PriorityError`` when the priority function raises or returns no
        finite number."""
        name = getattr(self.score, "__name__", repr(self.score))
        try:
            value = self.score(ScoredPath(state, depth, logprob_sum, self.alpha))
        except Exception as exc:  # the user's function: whatever it raises is its error, not the search's
            raise PriorityError(f"priority function {name} raised {type(exc).__name__}: {exc}") from exc
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PriorityError(f"priority function {name} returned {value!r}, not a finite number")
        return float(value)

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def add_state(self, parent: Node, tactic: str, logprob: float, state: TacticState) -> Node | None:
        """Record that ``tactic`` led from ``parent`` to ``state``; return the node if it is new."""
        known = self.index.get(state.pp)
        if known is not None:
            self.edges.append(Edge(parent.id, tactic, logprob, Outcome.STATE, known))
            return None
        depth = parent.depth + 1
        total = parent.logprob_sum + logprob
        node = Node(len(self.nodes), state, depth, total, self.priority_of(state, depth, total),
                    parent.id, tactic)
        self.nodes.append(node)
        self.index[state.pp] = node.id
        self.edges.append(Edge(parent.id, tactic, logprob, Outcome.STATE, node.id))
        return node

    def add_failure(
        self, parent: Node, tactic: str, logprob: float, outcome: Outcome, message: str | None,
        *, cached: bool = False,
    ) -> None:
        self.edges.append(Edge(parent.id, tactic, logprob, outcome, None, message, cached))

    def mark_expanded(self, node: Node) -> None:
        """Record that the search expands ``node`` now (its rank and place among the edges)."""
        node.expanded = True
        node.expansion = self.expansion_count
        node.expanded_after = len(self.edges)
        self.expansion_count += 1

    def path(self, node_id: int) -> list[str]:
        """The tactics on the first path from the root to ``node_id``."""
        tactics: list[str] = []
        node = self.nodes[node_id]
        while node.parent is not None:
            assert node.tactic is not None, "a node with a parent has its tactic"
            tactics.append(node.tactic)
            node = self.nodes[node.parent]
        tactics.reverse()
        return tactics

    def trajectory(self) -> list[dict[str, Any]]:
        """The steps of the verified proof, root first: each state's text, the tactic taken there, its
        log-prob, and the sibling tactics the proof assistant rejected at that state (error or timeout).
        Empty when no proof was verified. Steps completed from the proof cache have no state here and
        are left out."""
        final = next((e for e in reversed(self.edges) if e.outcome is Outcome.PROOF), None)
        if final is None:
            return []
        chain: list[tuple[Node, str, float]] = (
            [] if final.cached else [(self.nodes[final.source], final.tactic, final.logprob)])
        node = self.nodes[final.source]
        while node.parent is not None:
            parent = self.nodes[node.parent]
            logprob = next(e.logprob for e in self.edges
                           if e.source == parent.id and e.target == node.id and e.tactic == node.tactic)
            assert node.tactic is not None, "a node with a parent has its tactic"
            chain.append((parent, node.tactic, logprob))
            node = parent
        failed: dict[int, list[list[str]]] = {}
        for edge in self.edges:
            if edge.outcome in (Outcome.ERROR, Outcome.TIMEOUT):
                failed.setdefault(edge.source, []).append([edge.tactic, edge.message or ""])
        return [{"state": n.state.pp, "tactic": tactic, "logprob": logprob, "depth": n.depth,
                 "failed": failed.get(n.id, [])} for n, tactic, logprob in reversed(chain)]

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` naming the first broken invariant."""
        assert self.nodes and self.nodes[0].parent is None and self.nodes[0].depth == 0, "bad root"
        assert len(self.index) == len(self.nodes), "index and nodes differ in size"
        reached: dict[tuple[int, int | None, str | None], float] = {
            (e.source, e.target, e.tactic): e.logprob for e in self.edges if e.outcome is Outcome.STATE}
        for node in self.nodes:
            assert self.nodes[node.id] is node, f"node {node.id} stored at another index"
            assert self.index[node.state.pp] == node.id, f"node {node.id} not indexed by its state"
            expected = self.priority_of(node.state, node.depth, node.logprob_sum)
            assert math.isclose(node.priority, expected, abs_tol=1e-9), f"node {node.id} priority"
            if node.parent is None:
                assert node.id == 0 and node.tactic is None, f"node {node.id} has no parent"
                continue
            parent = self.nodes[node.parent]
            assert parent.expanded, f"node {node.id} has an unexpanded parent"
            assert node.depth == parent.depth + 1, f"node {node.id} has the wrong depth"
            logprob = reached.get((parent.id, node.id, node.tactic))
            assert logprob is not None, f"node {node.id} has no edge from its parent"
            assert math.isclose(node.logprob_sum, parent.logprob_sum + logprob, abs_tol=1e-9), (
                f"node {node.id} has the wrong log-prob sum")
        ranks = sorted(node.expansion for node in self.nodes if node.expansion is not None)
        assert ranks == list(range(self.expansion_count)), "expansion ranks are not 0 .. count-1"
        for node in self.nodes:
            assert node.expanded == (node.expansion is not None) == (node.expanded_after is not None), (
                f"node {node.id}: expanded without its rank, or the reverse")
        for edge in self.edges:
            assert self.nodes[edge.source].expanded or edge.cached, f"edge from unexpanded node {edge.source}"
            assert (edge.target is not None) == (edge.outcome is Outcome.STATE), f"edge {edge}"

    def to_networkx(self) -> nx.MultiDiGraph[int | str]:
        """The explored graph as a networkx ``MultiDiGraph``.

        Nodes are node ids carrying ``state``, ``depth``, ``logprob_sum``, ``priority``, ``expanded`` and
        ``parent`` (the node of its first path, ``None`` at the root); tactics that reached a state are
        edges with ``tactic``, ``logprob`` and ``outcome``. A verified proof step points to the sink node
        ``"proved"`` (``cached``: the proof cache's rest of a proof, from a node never expanded). Failed
        tactics stay on their source node as the ``failures`` list of ``(tactic, logprob, outcome,
        message)``.

        The search's order, for replaying it: every edge has ``order``, its rank among all tactic
        results (failures included), and ``failure_order`` lists the rank of each entry of ``failures``;
        an expanded node has ``expansion`` (its rank among expansions) and ``expanded_after`` (how many
        tactic results came before it), both ``None`` on other nodes.
        """
        import networkx as nx

        graph: nx.MultiDiGraph[int | str] = nx.MultiDiGraph(alpha=self.alpha)  # nodes: ids and PROVED_SINK
        for node in self.nodes:
            graph.add_node(node.id, state=node.state.pp, depth=node.depth, logprob_sum=node.logprob_sum,
                           priority=node.priority, expanded=node.expanded, failures=[], parent=node.parent,
                           expansion=node.expansion, expanded_after=node.expanded_after, failure_order=[])
        for order, edge in enumerate(self.edges):
            if edge.outcome is Outcome.STATE:
                assert edge.target is not None, "a STATE edge has its target"
                graph.add_edge(edge.source, edge.target, tactic=edge.tactic, logprob=edge.logprob,
                               outcome=edge.outcome.value, order=order)
            elif edge.outcome is Outcome.PROOF:
                graph.add_edge(edge.source, PROVED_SINK, tactic=edge.tactic, logprob=edge.logprob,
                               outcome=edge.outcome.value, order=order, cached=edge.cached)
            else:
                graph.nodes[edge.source]["failures"].append(
                    (edge.tactic, edge.logprob, edge.outcome.value, edge.message))
                graph.nodes[edge.source]["failure_order"].append(order)
        return graph
