"""The explorer page in a real browser: headless Chromium opens the page of a real Coq search (``prover
prove --html``), draws as many nodes and edges as the graph has, replays the search, and its screenshot
shows the graph. ``.ci/run`` installs Debian's ``chromium``; without it these tests skip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scripted import QED, THEOREM, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from prover.cli.main import main
from prover.explorer import write_result_page
from search import SearchConfig, prove

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="needs headless Chromium (apt-get install chromium)")
DOUBLE = "Fixpoint double (n : nat) : nat := match n with 0 => 0 | S p => S (S (double p)) end."


def _chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once (its own profile folder, JavaScript given 10 s of virtual time)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


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
