"""The networkx export of a search graph records the search's order (for replaying it) and the parent of
each node, while the keys it had before keep their shape."""

from __future__ import annotations

from scripted import QED, THEOREM, Fail, Hang, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import SearchConfig, prove
from search.graph import PROVED_SINK

CFG = SearchConfig(time_limit=None, max_expansions=2)  # "t" is never expanded


def _search():
    env = ScriptedEnv(root="r", moves={"r": {"bad": Fail("unknown identifier 'foo'"), "a": "s", "b": "t"},
                                       "s": {"slow": Hang(12.0), "fin": QED}, "t": {}})
    policy = ScriptedPolicy({"r": [("bad", -0.1), ("a", -0.2), ("b", -0.3)],
                             "s": [("slow", -0.1), ("fin", -0.2)]})
    return prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)


def test_expansion_order_and_ranks_are_recorded() -> None:
    result = _search()
    assert result.proved
    result.graph.check_invariants()
    graph = result.graph.to_networkx()
    root, s = graph.nodes[0], graph.nodes[1]
    assert (root["expansion"], root["expanded_after"]) == (0, 0)
    assert s["expansion"] == 1 and s["expanded_after"] == 3  # after the root's three tactic results
    assert graph.nodes[2]["expansion"] is None and graph.nodes[2]["expanded_after"] is None  # never expanded
    assert root["parent"] is None and s["parent"] == 0 and graph.nodes[2]["parent"] == 0


def test_every_tactic_result_has_its_rank() -> None:
    graph = _search().graph.to_networkx()
    ranks = {data["tactic"]: data["order"] for _, _, data in graph.edges(data=True)}
    for node in (0, 1):
        attrs = graph.nodes[node]
        ranks |= {failure[0]: order for failure, order in zip(attrs["failures"], attrs["failure_order"],
                                                               strict=True)}
    # the root's answers in the order they were handed out, then the child's, then the proof
    assert ranks == {"bad": 0, "a": 1, "b": 2, "slow": 3, "fin": 4}
    assert graph.has_edge(1, PROVED_SINK)


def test_the_keys_of_earlier_exports_keep_their_shape() -> None:
    graph = _search().graph.to_networkx()
    failures = graph.nodes[0]["failures"]
    assert ("bad", -0.1, "error", "unknown identifier 'foo'") in failures  # 4-tuples, as before
    assert ("slow", -0.1, "timeout", "timed out after 12 s") in graph.nodes[1]["failures"]
    edge = graph.get_edge_data(0, 1)[0]
    assert {"tactic", "logprob", "outcome"} <= set(edge)
