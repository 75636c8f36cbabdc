"""The explorer page in a real browser: headless Chromium opens the page of a real Coq search (``prover
prove --html``), draws as many nodes and edges as the graph has, replays the search, and its screenshot
shows the graph. ``.ci/run`` installs Debian's ``chromium``; without it these tests skip."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scripted import QED, THEOREM, Fail, Hang, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from prover.cli.main import main
from prover.explorer import explorer_model, node_link, render_page, write_result_page
from search import SearchConfig, prove

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="needs headless Chromium (apt-get install chromium)")
DOUBLE = "Fixpoint double (n : nat) : nat := match n with 0 => 0 | S p => S (S (double p)) end."


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once (its own profile folder, JavaScript given 10 s of virtual time)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _chromium(tmp_path: Path, *args: str) -> str:
    return _run_chromium(tmp_path, *args).stdout


def _body(dom: str) -> dict[str, str]:
    """The data-* attributes of the page's <body> after its script ran."""
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1)))


@pytest.fixture(scope="module")
def coq_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The page and the node-link graph of a real search: coqtop, the Coq tactic list, coqc verified."""
    if shutil.which("coqtop") is None:
        pytest.skip("needs coqtop (apt-get install coq)")
    folder = tmp_path_factory.mktemp("explorer")
    page, graph = folder / "double.html", folder / "double.json"
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--quiet", "--header", DOUBLE,
                 "--html", str(page), "--graph-out", str(graph),
                 "Theorem double_plus : forall n : nat, double n = n + n."])
    assert code == 0
    return page, json.loads(graph.read_text(encoding="utf-8"))


def test_the_page_draws_every_node_and_edge_of_the_graph(coq_page, tmp_path: Path) -> None:
    page, graph = coq_page
    body = _body(_chromium(tmp_path, "--dump-dom", page.as_uri()))
    assert body["ready"] == "true", body
    assert int(body["nodes"]) == len(graph["nodes"]) > 3  # the states and the "proved" sink
    assert int(body["edges"]) == len(graph["edges"]) > 3
    failures = sum(len(node.get("failures") or []) for node in graph["nodes"])
    assert int(body["failures"]) == failures > 0  # the errors of failed tactics are on the page
    for layout in ("cose", "concentric"):  # the other layouts draw the same graph
        other = _body(_chromium(tmp_path, "--dump-dom", page.as_uri() + f"#layout={layout}"))
        assert (other["ready"], other["layout"], other["nodes"]) == ("true", layout, body["nodes"])


def test_the_replay_starts_from_the_root_alone(coq_page, tmp_path: Path) -> None:
    page, graph = coq_page
    start = _body(_chromium(tmp_path, "--dump-dom", page.as_uri() + "#step=0"))
    assert (start["step"], start["visible-nodes"], start["visible-edges"]) == ("0", "1", "0")
    end = _body(_chromium(tmp_path, "--dump-dom", page.as_uri()))
    assert end["step"] == end["steps"] and int(end["visible-nodes"]) == len(graph["nodes"])


# Walks the replay forwards step by step, back again, then by jumps, and records what each step shows: the
# step, the counts on the page, and which elements are hidden as not yet found (.future), drawn as not
# yet expanded (.pending) and marked as the step's own (.current).
REPLAY_PROBE = """<script>
(function () {
  const explorer = window.explorer, trace = [];
  const ids = (selector) => explorer.cy.elements(selector).map((ele) => ele.id()).join(" ");
  const record = () => {
    const data = document.body.dataset;
    trace.push([Number(data.step), Number(data.visibleNodes), Number(data.visibleEdges), ids(".future"),
                ids(".pending"), ids(".current")]);
  };
  const total = explorer.model.steps.length;
  record();
  const targets = [0];
  for (let k = 1; k <= total; k += 1) targets.push(k);
  for (let k = total - 1; k >= 0; k -= 1) targets.push(k);
  targets.push(total, Math.floor(total / 2), 1, total - 1, 2, -5, total + 5, Math.floor(total / 3), 0);
  for (const k of targets) { explorer.show(k); record(); }
  document.body.dataset.trace = JSON.stringify(trace);
})();
</script>"""


def _replay_trace(page: Path, tmp_path: Path) -> tuple[dict, list[list]]:
    """The page's model and what its replay showed at each step the probe went to."""
    text = page.read_text(encoding="utf-8")
    head, tail = text.rsplit("</body>", 1)
    probe = tmp_path / ("probe-" + page.name)
    probe.write_text(head + REPLAY_PROBE + "</body>" + tail, encoding="utf-8")
    body = _body(_chromium(tmp_path, "--dump-dom", probe.as_uri()))
    assert body["ready"] == "true", body
    model = json.loads(re.search(r'id="graph-data">(.*?)</script>', text, re.DOTALL).group(1))
    return model, json.loads(html.unescape(body["trace"]))


def _expected_at(model: dict, k: int) -> list:
    """What step ``k`` shows, from the model alone: an element is hidden until its step, a state drawn as
    pending until its expansion, and the counts are of the states and tactic edges found by then."""
    appears: dict[str, int] = {node["id"]: node["created"] for node in model["nodes"]}
    expands: dict[str, int] = {}
    for number, step in enumerate(model["steps"], start=1):
        if step["kind"] == "edge":
            appears[step["edge"]] = number
        elif step["kind"] == "expand":
            expands[step["node"]] = number
        else:
            for prefix in ("f", "fe"):  # the failure's node and its edge
                appears[f"{prefix}-{step['node']}-{step['index']}"] = number
    states = {node["id"] for node in model["nodes"]}
    edges = {edge["id"] for edge in model["edges"]}
    current = ""
    if k > 0:
        step = model["steps"][k - 1]
        current = {"edge": step.get("edge"), "expand": step.get("node")}.get(
            step["kind"], f"f-{step.get('node')}-{step.get('index')}")
    pending = {node["id"] for node in model["nodes"]
               if node["status"] != "proved" and expands.get(node["id"], len(model["steps"]) + 1) > k}
    return [k, sum(appears[i] <= k for i in states), sum(appears[i] <= k for i in edges),
            {i for i, step in appears.items() if step > k}, pending, current]


def _check_replay(model: dict, trace: list[list]) -> None:
    total = len(model["steps"])
    targets = [total, 0, *range(1, total + 1), *range(total - 1, -1, -1), total, total // 2, 1, total - 1, 2,
               0, total, total // 3, 0]
    assert len(trace) == len(targets)
    for shown, k in zip(trace, targets, strict=True):
        step, nodes, edges, future, pending, current = shown
        got = [step, nodes, edges, set(future.split()), set(pending.split()), current]
        assert got == _expected_at(model, k), f"step {k}"


def test_every_replay_step_shows_what_the_search_had_found(coq_page, tmp_path: Path) -> None:
    model, trace = _replay_trace(coq_page[0], tmp_path)
    assert len(model["steps"]) > 10
    _check_replay(model, trace)


def _tangled_result():
    # repeated states (r -> s twice, s -> r, d -> r), a loop (r -> r), errors and a timeout, dead ends, a
    # state never expanded (v)
    env = ScriptedEnv(root="r", moves={
        "r": {"bad": Fail("no"), "a": "s", "a2": "s", "b": "d", "c": "u", "same": "r", "slow": Hang(0.0)},
        "s": {"up": "r", "x": Fail("no"), "side": "d", "late": "v", "fin": QED},
        "d": {"y": Fail("no"), "back": "r", "deeper": "e"},
        "e": {"z": Fail("no")}})
    policy = ScriptedPolicy({"r": [("bad", -0.1), ("b", -0.12), ("a", -0.2), ("a2", -0.25), ("c", -0.9),
                                   ("same", -0.3), ("slow", -0.4)],
                             "d": [("y", -0.1), ("back", -0.2), ("deeper", -0.05)], "e": [("z", -0.1)],
                             "s": [("up", -0.1), ("x", -0.2), ("side", -0.3), ("late", -0.5), ("fin", -2.0)]})
    return prove(THEOREM, backend=ScriptedBackend(env), policy=policy,
                 config=SearchConfig(time_limit=None, max_expansions=6, tactics_per_node=8))


def test_replay_steps_of_a_tangled_search(tmp_path: Path) -> None:
    page = write_result_page(_tangled_result(), tmp_path / "tangled.html")
    model, trace = _replay_trace(page, tmp_path)
    assert {step["kind"] for step in model["steps"]} == {"expand", "edge", "failure"}
    assert any(e["source"] == e["target"] for e in model["edges"])
    assert {"open", "dead-end", "expanded", "proof"} <= {node["status"] for node in model["nodes"]}
    _check_replay(model, trace)


def test_an_error_while_drawing_is_shown_on_the_page(tmp_path: Path) -> None:
    result = prove(THEOREM, backend=ScriptedBackend(ScriptedEnv(root="r", moves={"r": {"fin": QED}})),
                   policy=ScriptedPolicy({"r": [("fin", -0.1)]}), config=SearchConfig(time_limit=None))
    model = explorer_model(node_link(result.graph), title="broken")
    model["steps"].append({"kind": "edge", "edge": "e99"})  # a step of no edge: describing it throws
    page = tmp_path / "broken.html"
    page.write_text(render_page(model), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    body = _body(dom)
    assert body["ready"] == "error" and "TypeError" in body["error"], body
    assert "The graph could not be drawn: TypeError" in dom


def test_the_page_logs_no_style_warning_or_error(tmp_path: Path) -> None:
    page = write_result_page(_tangled_result(), tmp_path / "tangled.html")
    done = _run_chromium(tmp_path, "--enable-logging=stderr", "--dump-dom", page.as_uri())
    assert _body(done.stdout)["ready"] == "true"
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console, done.stderr[-2000:]  # the log is read (Cytoscape always warns of the wheel sensitivity)
    assert not [line for line in console if "invalid" in line or "Uncaught" in line], console


def test_the_screenshot_shows_the_graph(coq_page, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    page, _ = coq_page
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1200,800", f"--screenshot={shot}", page.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 800)
    pixels = np.asarray(image, dtype=np.int32).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    drawn = (np.abs(pixels - background).sum(axis=1) > 60).sum()
    assert drawn > 0.01 * len(pixels)  # not blank
    green = (np.abs(pixels - np.array([0x2C, 0xA0, 0x2C])).max(axis=1) < 25).sum()
    assert green > 200  # the proof path's nodes and edges are drawn in green


def test_hostile_state_text_does_not_run_in_the_page(tmp_path: Path) -> None:
    hostile = "</script><script>document.body.dataset.pwned = '1'</script><!--"
    env = ScriptedEnv(root=hostile, moves={hostile: {"fin": QED}})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({hostile: [("fin", -0.1)]}),
                   config=SearchConfig(time_limit=None))
    page = write_result_page(result, tmp_path / "hostile.html")
    body = _body(_chromium(tmp_path, "--dump-dom", page.as_uri()))
    assert body["ready"] == "true" and "pwned" not in body
    assert body["nodes"] == "2" and body["edges"] == "1"


def test_a_planned_attempts_search_page_draws_from_its_folder(tmp_path: Path) -> None:
    from explorer_plans import planned_result

    from prover.explorer import planned_graphs, write_planned_pages
    from prover.sweep.planned_record import planned_record_fields

    result = planned_result()
    record = planned_record_fields(result)
    graphs = tmp_path / "graphs"  # as in a sweep: one library for every page, the searches a folder down
    write_planned_pages(graphs / "scripted.html", title="scripted", planner=record["planner"],
                        graphs=planned_graphs(result), status="proved", shared_library=graphs)
    page = graphs / "scripted.searches" / "round1.subgoal1.html"  # loads ../cytoscape.min.js
    body = _body(_chromium(tmp_path, "--dump-dom", page.as_uri()))
    graph = result.rounds[0].subgoals[0].graph.to_networkx()
    assert body["ready"] == "true", body
    assert (int(body["nodes"]), int(body["edges"])) == (graph.number_of_nodes(), graph.number_of_edges())
