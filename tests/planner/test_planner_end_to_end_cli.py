"""``prover prove --planner`` end to end: the planner model behind a loopback chat server, Lean behind the
plan-aware fake REPL process, the tactic-list policy; the plan and each subgoal's outcome are printed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from planner_chat_server import ChatServer
from planner_repl import plan_repl_config
from planner_worlds import TACTICS, THEOREM

from prover.cli.main import main


def argv(tmp_path: Path, server: ChatServer, *extra: str) -> list[str]:
    config = plan_repl_config(tmp_path)
    return ["prove", "--header", THEOREM.header, THEOREM.statement, "--backend", "repl",
            "--repl-project-dir", config.project_dir, "--repl-command", shlex.join(config.command),
            "--policy", "tactics", "--tactics", ",".join(TACTICS), "--time-limit", "30",
            "--planner", "--planner-model", "planner-test", "--planner-base-url", server.base_url,
            "--planner-max-retries", "0", "--planner-subgoal-expansions", "6",
            "--planner-main-expansions", "6", *extra]


def test_prove_with_a_planner_prints_the_plan_and_the_proof(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        code = main(argv(tmp_path, server))
    out, err = capsys.readouterr()
    assert code == 0
    assert "have h1 : 5 * x = 25 := by\n    linarith" in out
    assert "round 2" in err and "5 * x = 25" in err and "proved" in err


def test_prove_v_with_a_planner_prints_each_subgoal_as_k_of_n(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        code = main(argv(tmp_path, server, "-v"))  # no terminal here: a status line per step
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 0
    steps = ["round 1 · asking the planner for a plan", "round 1 · subgoal 1/2 · 0/2 subgoals proved",
             "round 1 · subgoal 2/2 · 1/2 subgoals proved", "round 2 · asking the planner for a plan",
             "round 2 · subgoal 1/2 · 0/2 subgoals proved", "round 2 · subgoal 2/2 · 1/2 subgoals proved",
             "round 2 · main goal · 2/2 subgoals proved"]
    positions = [err.find(f"{THEOREM.name}: {step}") for step in steps]
    assert -1 not in positions and positions == sorted(positions), dict(zip(steps, positions, strict=True))
    assert f"{THEOREM.name}: round 2 · main goal · 2/2 subgoals proved · " in err  # with its search's line


def test_prove_with_a_planner_writes_the_plan_and_a_page_per_search(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "pages" / "plan.html"
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        code = main(argv(tmp_path, server, "--json", "--html", str(page)))
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"]
    searched = [(r["round"], s["index"]) for r in result["planner"]["rounds"]
                for s in [*r["subgoals"], *([r["main"]] if r["main"] else [])]
                if s["stop_reason"] != "reused"]
    names = {f"round{r + 1}.{'main' if i == -1 else f'subgoal{i + 1}'}.html" for r, i in searched}
    folder = tmp_path / "pages" / "plan.searches"
    assert {p.name for p in folder.glob("*.html")} == names and len(names) >= 3
    overview = page.read_text(encoding="utf-8")
    assert all(f'href="plan.searches/{name}"' in overview for name in names)
    assert "5 * x = 25" in overview and "Round 2" in overview


def test_prove_with_a_planner_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        code = main(argv(tmp_path, server, "--json"))
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"]
    assert len(result["planner"]["rounds"]) == 2


def test_an_unreachable_planner_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        url = server.base_url
    code = main(argv(tmp_path, type("S", (), {"base_url": url})()))  # the server is closed now
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err


@pytest.mark.slow
def test_a_planned_sweep_links_the_plan_page_of_each_theorem(ray_cluster, tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    row = {"name": THEOREM.name, "split": "test", "header": THEOREM.header, "statement": THEOREM.statement}
    bench.write_text(json.dumps(row) + "\n")
    config = plan_repl_config(tmp_path)
    out = tmp_path / "out"
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        code = main(["sweep", str(bench), "--out", str(out), "--workers", "1", "--backend", "repl",
                     "--repl-project-dir", config.project_dir, "--repl-command", shlex.join(config.command),
                     "--policy", "tactics", "--tactics", ",".join(TACTICS), "--time-limit", "60",
                     "--planner", "--planner-model", "planner-test", "--planner-base-url", server.base_url,
                     "--planner-max-retries", "0", "--planner-subgoal-expansions", "6",
                     "--planner-main-expansions", "6"])
    assert code == 0
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert record["status"] == "proved" and "graph" not in record  # the graphs became pages, not data
    page = out / "graphs" / f"{THEOREM.name}.html"
    overview = page.read_text(encoding="utf-8")
    searches = sorted(p.name for p in (out / "graphs" / f"{THEOREM.name}.searches").glob("*.html"))
    assert "round2.main.html" in searches and len(searches) >= 3
    assert all(f'href="{THEOREM.name}.searches/{name}"' in overview for name in searches)
    assert f"[{THEOREM.name}](graphs/{THEOREM.name}.html)" in (out / "report.md").read_text(encoding="utf-8")
