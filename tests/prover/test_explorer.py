"""The search-graph explorer's model and page, from scripted searches (the browser test is separate)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from explorer_plans import planned_result
from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from prover.explorer import (
    explorer_model,
    node_label,
    node_link,
    planned_graphs,
    render_page,
    write_page,
    write_planned_pages,
    write_result_page,
)
from prover.sweep.planned_record import planned_record_fields
from search import SearchConfig, prove

CFG = SearchConfig(time_limit=None, max_expansions=3)


def _result(root: str = "r"):
    # r -> s (proof path), r -> d (every tactic fails there: a dead end), r -> u (never expanded)
    env = ScriptedEnv(root=root, moves={root: {"bad": Fail("The reference lia was not found"), "a": "s",
                                               "b": "d", "c": "u"},
                                        "d": {"x": Fail("no"), "y": Fail("no")}, "s": {"fin": QED}})
    policy = ScriptedPolicy({root: [("bad", -0.1), ("b", -0.15), ("a", -0.2), ("c", -0.9)],
                             "d": [("x", -0.1), ("y", -0.2)], "s": [("fin", -0.3)]})
    return prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)


def _model(result):
    return explorer_model(node_link(result.graph), title="scripted", stop_reason=result.stop_reason.value,
                          proof=list(result.proof.tactics), stats=result.stats.as_dict())


def test_the_model_has_the_graphs_nodes_edges_and_failures() -> None:
    result = _result()
    graph = result.graph.to_networkx()
    model = _model(result)
    assert model["counts"] == {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
                               "failures": 3}
    by_key = {node["key"]: node for node in model["nodes"]}
    assert by_key[0]["failures"][0]["message"] == "The reference lia was not found"
    assert {(e["tactic"], e["logprob"]) for e in model["edges"]} == {("a", -0.2), ("b", -0.15),
                                                                      ("c", -0.9), ("fin", -0.3)}


def test_the_proof_path_and_statuses() -> None:
    model = _model(_result())
    states = {node["state"]: node for node in model["nodes"] if node["key"] != "proved"}
    assert [s for s, node in states.items() if node["on_proof"]] == ["r", "s"]
    assert {e["tactic"] for e in model["edges"] if e["on_proof"]} == {"a", "fin"}
    assert {s: node["status"] for s, node in states.items()} == {
        "r": "proof", "s": "proof", "d": "dead-end", "u": "open"}
    sink = next(node for node in model["nodes"] if node["key"] == "proved")
    assert sink["status"] == "proved" and sink["on_proof"]


def test_the_replay_steps_follow_the_search() -> None:
    model = _model(_result())
    names = {node["id"]: node["state"] or "sink" for node in model["nodes"]}
    edges = {edge["id"]: edge["tactic"] for edge in model["edges"]}
    failures = {node["id"]: node["failures"] for node in model["nodes"]}
    trace = []
    for step in model["steps"]:
        if step["kind"] == "expand":
            trace.append("expand " + names[step["node"]])
        elif step["kind"] == "edge":
            trace.append(edges[step["edge"]])
        else:
            trace.append(failures[step["node"]][step["index"]]["tactic"])
    # best-first: d (-0.15) before s (-0.2); each expansion comes before the answers to its tactics
    assert trace == ["expand r", "bad", "b", "a", "c", "expand d", "x", "y", "expand s", "fin"]
    created = {names[node["id"]]: node["created"] for node in model["nodes"]}
    assert created["r"] == 0 and created["d"] == 3 and created["sink"] == len(trace)


def test_exports_without_the_order_fields_still_render() -> None:
    data = node_link(_result().graph)
    for node in data["nodes"]:
        for key in ("parent", "expansion", "expanded_after", "failure_order"):
            node.pop(key, None)
    for edge in data["edges"]:
        edge.pop("order", None)
    data = json.loads(json.dumps(data))  # tuples become lists, as read from a --graph-out file
    model = explorer_model(data, title="old", proof=["a", "fin"])
    assert model["counts"]["nodes"] == 5 and model["counts"]["edges"] == 4
    assert len(model["steps"]) == 3 + 4 + 3  # expansions, edges and failures, each once
    assert {e["tactic"] for e in model["edges"] if e["on_proof"]} == {"a", "fin"}


def test_not_a_graph_is_refused() -> None:
    try:
        explorer_model({"nodes": 3}, title="x")
    except ValueError as exc:
        assert "node-link" in str(exc)
    else:
        raise AssertionError("no error")


def test_hostile_state_text_stays_data() -> None:
    hostile = "</script><script>document.body.dataset.pwned = '1'</script>{{SCRIPT}} <!--"
    page = render_page(_model(_result(root=hostile)))
    data = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None
    assert json.loads(data.group(1))["nodes"][0]["state"] == hostile  # intact, and inside the element
    outside = page.replace(data.group(1), "")
    assert "dataset.pwned" not in outside
    assert re.search(r"\{\{[A-Z]+\}\}", outside) is None  # no placeholder left, none re-expanded


def test_pages_inline_the_library_or_share_one_copy(tmp_path: Path) -> None:
    result = _result()
    single = write_result_page(result, tmp_path / "one.html")
    text = single.read_text(encoding="utf-8")
    assert "Cytoscape Consortium" in text and '<script src="' not in text
    shared = write_page(_model(result), tmp_path / "graphs" / "t.html", shared_library=True)
    assert '<script src="cytoscape.min.js">' in shared.read_text(encoding="utf-8")
    assert (tmp_path / "graphs" / "cytoscape.min.js").stat().st_size > 100_000
    assert "Permission is hereby granted" in (tmp_path / "graphs" / "cytoscape.LICENSE").read_text()


def test_node_labels_show_the_goal() -> None:
    assert node_label("1 goal\n  n : nat\n  ============================\n  n + 0 = n") == "n + 0 = n"
    assert node_label("n : ℕ\n⊢ n + 0 = n") == "n + 0 = n"
    assert node_label("x" * 100).endswith("…") and len(node_label("x" * 100)) == 40


def _page_model(page: Path) -> dict:
    data = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                     page.read_text(encoding="utf-8"), re.DOTALL)
    assert data is not None, page
    return json.loads(data.group(1))


def test_a_planned_attempt_has_an_overview_and_a_page_per_search(tmp_path: Path) -> None:
    result = planned_result()
    graphs = json.loads(json.dumps(planned_graphs(result)))  # as it crosses from a worker to the driver
    assert [(s["round"], s["index"]) for s in graphs["searches"]] == [(0, 0), (0, 1), (1, 1), (1, -1)]
    assert graphs["direct"] is None  # planning proved it: no fallback search
    record = planned_record_fields(result)
    overview = write_planned_pages(tmp_path / "scripted.html", title="scripted (attempt 1)",
                                   planner=record["planner"], graphs=graphs, status=record["status"],
                                   proof_text=record["proof_text"])
    folder = tmp_path / "scripted.searches"
    assert sorted(p.name for p in folder.glob("*.html")) == [
        "round1.subgoal1.html", "round1.subgoal2.html", "round2.main.html", "round2.subgoal2.html"]
    text = overview.read_text(encoding="utf-8")
    for link in ("scripted.searches/round1.subgoal1.html", "scripted.searches/round2.main.html"):
        assert f'href="{link}"' in text
    assert "Round 1" in text and "Round 2" in text and "reused" in text and "exhausted" in text
    assert "its search stopped (exhausted)" in text and "Qed." in text  # the round's failure, the proof
    assert "round2.subgoal1" not in text  # a reused subgoal ran no search: no page, no link
    searched = [(0, 0, "assert (h1 : a)"), (0, 1, "assert (h2 : b)"), (1, 1, "assert (h3 : c)")]
    for round_number, index, have in searched:
        page = folder / f"round{round_number + 1}.subgoal{index + 1}.html"
        model = _page_model(page)
        graph = result.rounds[round_number].subgoals[index].graph.to_networkx()
        assert model["counts"]["nodes"] == graph.number_of_nodes()  # the search's own graph, one for one
        assert model["counts"]["edges"] == graph.number_of_edges()
        heading = f"round {round_number + 1} · subgoal {index + 1}/2: {have}"
        assert model["title"] == f"scripted (attempt 1) · {heading}"
        assert '<a href="../scripted.html">' in page.read_text(encoding="utf-8")  # back to the plan
        assert "Cytoscape Consortium" in page.read_text(encoding="utf-8")  # inlined: works alone
    stuck = _page_model(folder / "round1.subgoal2.html")
    assert stuck["stop_reason"] == "exhausted" and stuck["nodes"][0]["failures"][0]["message"] == "no"
    assert _page_model(folder / "round2.main.html")["proof"] == ["exact"]


def test_planned_pages_share_the_library_and_replace_an_earlier_attempts(tmp_path: Path) -> None:
    result = planned_result()
    record = planned_record_fields(result)
    stale = tmp_path / "graphs" / "scripted.searches" / "round9.subgoal1.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("an earlier attempt's page")
    write_planned_pages(tmp_path / "graphs" / "scripted.html", title="scripted", planner=record["planner"],
                        graphs=planned_graphs(result), status="proved", shared_library=tmp_path / "graphs")
    assert not stale.exists()
    page = (tmp_path / "graphs" / "scripted.searches" / "round2.main.html").read_text(encoding="utf-8")
    assert '<script src="../cytoscape.min.js">' in page and "Cytoscape Consortium" not in page
    assert (tmp_path / "graphs" / "cytoscape.min.js").is_file()
    assert not (tmp_path / "graphs" / "scripted.searches" / "cytoscape.min.js").exists()  # one copy


def test_planned_overview_text_stays_text(tmp_path: Path) -> None:
    record = planned_record_fields(planned_result())
    record["planner"]["rounds"][0]["failure"] = "<script>alert(1)</script>"
    page = write_planned_pages(tmp_path / "p.html", title="<b>t</b>", planner=record["planner"],
                               graphs={"searches": [], "direct": None}, status="unproved")
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>t</b>" not in text and "&lt;b&gt;t&lt;/b&gt;" in text
    assert text.count("not tried") == 1  # round 1 stopped at h2: its main goal was never searched


def _hand_graph(*, orders: bool) -> dict:
    """r has a failed tactic and reaches a twice (t1, t1b), b once; a has a timeout and reaches c and r
    again; c closes the proof. With ``orders``: the newer export's parent and order fields."""
    nodes = [{"id": 0, "state": "r", "depth": 0, "expanded": True,
              "failures": [["bad", -1.0, "error", "no"]]},
             {"id": 1, "state": "a", "depth": 1, "expanded": True,
              "failures": [["x", -2.0, "timeout", None]]},
             {"id": 2, "state": "b", "depth": 1, "expanded": False, "failures": []},
             {"id": 3, "state": "c", "depth": 2, "expanded": True, "failures": []},
             {"id": "proved", "depth": None, "expanded": False, "failures": []}]
    edges = [{"source": 0, "target": 1, "tactic": "t1"}, {"source": 0, "target": 2, "tactic": "t2"},
             {"source": 1, "target": 3, "tactic": "u1"}, {"source": 0, "target": 1, "tactic": "t1b"},
             {"source": 1, "target": 0, "tactic": "back"},
             {"source": 3, "target": "proved", "tactic": "fin", "outcome": "proof"}]
    if orders:
        for node, parent in zip(nodes, [None, 0, 0, 1, 3], strict=True):
            node["parent"] = parent
        for edge, order in zip(edges, [5, 3, 7, 2, 8, 9], strict=True):
            edge["order"] = order
    return {"nodes": nodes, "edges": edges}


def _trace(model: dict) -> list[str]:
    return [f"expand {s['node']}" if s["kind"] == "expand" else s["edge"] if s["kind"] == "edge"
            else f"fail {s['node']}.{s['index']}" for s in model["steps"]]


def test_a_hand_checked_graph_without_order_fields() -> None:
    # the replay goes by list position: each expansion and its failures just before the node's first edge
    model = explorer_model(_hand_graph(orders=False), title="hand", proof=["t1", "u1", "fin"])
    assert _trace(model) == ["expand n0", "fail n0.0", "e0", "e1", "expand n1", "fail n1.0", "e2", "e3", "e4",
                             "expand n3", "e5"]
    created = {n["id"]: n["created"] for n in model["nodes"]}
    assert created == {"n0": 0, "n1": 3, "n2": 4, "n3": 7, "proved": 11}
    # no parents: the proof's tactics are followed from the root, the first edge of each tactic
    assert [e["id"] for e in model["edges"] if e["on_proof"]] == ["e0", "e2", "e5"]
    assert {n["id"]: n["status"] for n in model["nodes"]} == {
        "n0": "proof", "n1": "proof", "n2": "open", "n3": "proof", "proved": "proved"}
    assert model["max_depth"] == 2


def test_a_hand_checked_graph_with_order_fields() -> None:
    model = explorer_model(_hand_graph(orders=True), title="hand", proof=["t1b", "u1", "fin"])
    assert _trace(model) == ["expand n0", "fail n0.0", "e3", "e1", "e0", "expand n1", "fail n1.0", "e2", "e4",
                             "expand n3", "e5"]
    created = {n["id"]: n["created"] for n in model["nodes"]}
    assert created == {"n0": 0, "n1": 3, "n2": 4, "n3": 8, "proved": 11}
    # the parents' path, and of the two edges r -> a the earlier (t1b, order 2, not t1, order 5)
    assert [e["id"] for e in model["edges"] if e["on_proof"]] == ["e2", "e3", "e5"]
    assert [n["id"] for n in model["nodes"] if n["on_proof"]] == ["n0", "n1", "n3", "proved"]


def test_a_corrupt_parent_is_a_clear_error() -> None:
    for parents, message in (([None, 0, 0, 7, 3], "unknown parent"), ([None, 3, 0, 1, 3], "cycle")):
        data = _hand_graph(orders=True)
        for node, parent in zip(data["nodes"], parents, strict=True):
            node["parent"] = parent
        try:
            explorer_model(data, title="bad")
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"no error for parents {parents}")
