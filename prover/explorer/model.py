"""The explorer's data: a search graph's node-link JSON turned into what the page draws.

The input is the node-link form of ``SearchGraph.to_networkx()`` (what ``prover prove --graph-out``
writes): state nodes with ``state``, ``depth``, ``priority``, ``expanded``, ``failures`` and, in newer
exports, ``parent``, ``expansion``, ``expanded_after`` and ``failure_order``; tactic edges with
``tactic``, ``logprob``, ``outcome`` and (newer) ``order``; and the sink ``"proved"``. Older exports
without the order fields still render; their replay order is then approximate.

The model keeps every state node and every tactic edge of the graph, one for one (the page's counts are
the graph's), plus each node's failed tactics with their messages, the proof path, a status per node and
the chronological steps of the search for the replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

PROVED_SINK = "proved"

# node statuses, as the page colours them
ROOT, PROOF, EXPANDED, DEAD_END, OPEN, SINK = "root", "proof", "expanded", "dead-end", "open", "proved"


def node_link(graph: Any) -> dict[str, Any]:
    """The node-link JSON data of a ``SearchGraph`` (as ``--graph-out`` writes it), with every number that
    is not finite (a log-prob of ``-inf``) as ``None``: strict JSON has no infinities."""
    import networkx as nx

    return _finite(nx.node_link_data(graph.to_networkx(), edges="edges"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _number(value: Any) -> float | None:
    """A finite float, or ``None`` (JSON has no infinities)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _failures(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    orders = list(attrs.get("failure_order") or [])
    result = []
    for index, failure in enumerate(attrs.get("failures") or []):
        tactic, logprob, outcome, message = (list(failure) + [None] * 4)[:4]
        result.append({"tactic": str(tactic), "logprob": _number(logprob), "outcome": str(outcome),
                       "message": message, "order": orders[index] if index < len(orders) else None})
    return result


def node_label(state: str, width: int = 40) -> str:
    """A short label of a state: its first goal's conclusion (after Coq's bar or Lean's turnstile)."""
    lines = [line.strip() for line in state.splitlines() if line.strip()]
    conclusion = next((lines[i + 1] for i, line in enumerate(lines[:-1]) if set(line) == {"="}), None)
    if conclusion is None:
        conclusion = next((line[1:].strip() for line in lines if line.startswith("⊢")), None)
    text = conclusion or (lines[0] if lines else "")
    return text if len(text) <= width else text[: width - 1] + "…"


def _node_id(value: Any) -> str:
    return "proved" if value == PROVED_SINK else f"n{value}"


def explorer_model(data: Mapping[str, Any], *, title: str, stop_reason: str | None = None,
                   proof: Sequence[str] | None = None,
                   stats: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The page's model of the node-link ``data``; ``title`` heads the page, ``stop_reason``, ``proof``
    (the tactic list) and ``stats`` (``SearchStats.as_dict()``) are shown beside the graph.

    Raises ``ValueError`` when ``data`` is not node-link graph data."""
    if not isinstance(data.get("nodes"), list) or not isinstance(data.get("edges", data.get("links")), list):
        raise ValueError("not node-link graph data: it needs 'nodes' and 'edges' lists")
    raw_edges = data.get("edges", data.get("links"))
    nodes = [_model_node(raw) for raw in data["nodes"]]
    by_id = {node["id"]: node for node in nodes}
    edges = []
    for index, raw in enumerate(raw_edges):
        order = raw.get("order")
        edges.append({"id": f"e{index}", "source": _node_id(raw["source"]), "target": _node_id(raw["target"]),
                      "tactic": str(raw.get("tactic", "")), "logprob": _number(raw.get("logprob")),
                      "outcome": str(raw.get("outcome", "state")),
                      "order": order if isinstance(order, int) else None, "on_proof": False})
    for edge in edges:
        if edge["source"] not in by_id or edge["target"] not in by_id:
            raise ValueError(f"edge {edge['id']} joins unknown nodes {edge['source']} -> {edge['target']}")
    _mark_proof(nodes, by_id, edges, proof)
    _set_status(nodes, edges)
    steps = _steps(nodes, edges)
    failures = sum(len(node["failures"]) for node in nodes)
    depths = [node["depth"] for node in nodes if _number(node["depth"]) is not None]  # the page's rings
    return {"title": title, "stop_reason": stop_reason, "proof": list(proof) if proof else None,
            "stats": dict(stats or {}), "nodes": nodes, "edges": edges, "steps": steps,
            "counts": {"nodes": len(nodes), "edges": len(edges), "failures": failures},
            "max_depth": max([0, *depths])}


def _model_node(raw: Mapping[str, Any]) -> dict[str, Any]:
    sink = raw["id"] == PROVED_SINK
    parent = raw.get("parent")
    state = "" if sink else str(raw.get("state", ""))
    return {"id": _node_id(raw["id"]), "key": raw["id"], "state": state,
            "label": "proof closed" if sink else f"{raw['id']}: {node_label(state)}",
            "depth": raw.get("depth"), "priority": _number(raw.get("priority")),
            "logprob_sum": _number(raw.get("logprob_sum")), "expanded": bool(raw.get("expanded")),
            "expansion": raw.get("expansion"), "expanded_after": raw.get("expanded_after"),
            "parent": None if parent is None else _node_id(parent), "failures": _failures(raw),
            "status": SINK if sink else OPEN, "on_proof": sink, "created": None}


def _order_key(edge: Mapping[str, Any]) -> tuple[bool, int]:
    """Edges with an order first, earliest first; edges without one after, in list order (``min`` keeps
    the first of equals)."""
    return edge["order"] is None, edge["order"] or 0


def _mark_proof(nodes: list[dict[str, Any]], by_id: dict[str, dict[str, Any]], edges: list[dict[str, Any]],
                proof: Sequence[str] | None) -> None:
    """Flag the nodes and edges of the proof: the edge into the sink, then each node's first path."""
    final = [e for e in edges if e["target"] == "proved"]
    if not final:
        return
    last = min(final, key=_order_key)
    last["on_proof"] = True
    first_between: dict[tuple[str, str], dict[str, Any]] = {}  # (source, target) -> its earliest edge
    for edge in edges:
        pair = (edge["source"], edge["target"])
        known = first_between.get(pair)
        if known is None or _order_key(edge) < _order_key(known):
            first_between[pair] = edge
    node = by_id[last["source"]]
    seen: set[str] = set()
    while True:
        if node["id"] in seen:
            raise ValueError(f"the parents of node {node['key']} form a cycle")
        seen.add(node["id"])
        node["on_proof"] = True
        parent = node["parent"]
        if parent is None:
            if node["id"] != "n0" and proof:
                _mark_by_tactics(by_id, edges, proof)
            return
        if parent not in by_id:
            raise ValueError(f"node {node['key']} has an unknown parent {parent}")
        incoming = first_between.get((parent, node["id"]))
        if incoming is not None:
            incoming["on_proof"] = True
        node = by_id[parent]


def _mark_by_tactics(by_id: dict[str, dict[str, Any]], edges: list[dict[str, Any]],
                     proof: Sequence[str]) -> None:
    """For exports without ``parent``: follow the proof's tactics from the root."""
    first_by_tactic: dict[tuple[str, str], dict[str, Any]] = {}  # (source, tactic) -> its first edge
    for edge in edges:
        first_by_tactic.setdefault((edge["source"], edge["tactic"]), edge)
    current = "n0"
    for tactic in proof[:-1]:
        step = first_by_tactic.get((current, tactic))
        if step is None:
            return
        step["on_proof"] = True
        by_id[current]["on_proof"] = True
        current = step["target"]
    by_id[current]["on_proof"] = True


def _set_status(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    has_children = {e["source"] for e in edges}
    for node in nodes:
        if node["status"] == SINK:
            continue
        if node["on_proof"]:
            node["status"] = PROOF
        elif node["id"] == "n0":
            node["status"] = ROOT if node["expanded"] else OPEN
        elif node["expanded"]:
            node["status"] = EXPANDED if node["id"] in has_children else DEAD_END


def _steps(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search's events in the order they happened: expansions, then the answers to their tactics.

    Each step is ``{"kind": "expand", "node": id}``, ``{"kind": "edge", "edge": id}`` or
    ``{"kind": "failure", "node": id, "index": i}``. Exports without order fields fall back to the
    expansion numbers, else node ids, and list order."""
    events: list[tuple[tuple[float, int, float], dict[str, Any]]] = []
    first_out: dict[str, float] = {}  # node id -> the order (else list position) of its first outgoing edge
    for position, edge in enumerate(edges):
        when = edge["order"] if edge["order"] is not None else position
        events.append(((when, 1, 0), {"kind": "edge", "edge": edge["id"]}))
        known = first_out.get(edge["source"])
        first_out[edge["source"]] = when if known is None else min(known, when)

    def first_order(node: dict[str, Any]) -> float:
        """Where an older export's expansion or failure goes: just before the node's first outgoing edge."""
        first = first_out.get(node["id"])
        return first - 0.5 if first is not None else float(len(edges))

    for node in nodes:
        for index, failure in enumerate(node["failures"]):
            when = failure["order"] if failure["order"] is not None else first_order(node)
            events.append(((when, 1, index), {"kind": "failure", "node": node["id"], "index": index}))
        if node["expanded"]:
            after = node["expanded_after"]
            when = after if isinstance(after, int) else first_order(node)
            rank = node["expansion"] if isinstance(node["expansion"], int) else 0
            events.append(((when, 0, rank), {"kind": "expand", "node": node["id"]}))
    events.sort(key=lambda event: event[0])
    steps = [event for _, event in events]
    created: dict[str, int] = {"n0": 0}
    by_edge = {edge["id"]: edge for edge in edges}
    for number, step in enumerate(steps, start=1):
        if step["kind"] == "edge":
            created.setdefault(by_edge[step["edge"]]["target"], number)
    for node in nodes:
        node["created"] = created.get(node["id"], 0)
    return steps
