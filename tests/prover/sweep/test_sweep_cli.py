"""``prover sweep`` end to end on the test session's Ray cluster: the Lean REPL backend over the fake REPL
process, with the tactic-list policy and with a model served by the batching policy server."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, HEADER, chain_world, script_config

from prover.cli.main import main


def bench(tmp_path: Path) -> Path:
    rows = [{"name": "chain", "split": "test", "header": HEADER, "statement": CHAIN_STATEMENT},
            {"name": "broken", "split": "test", "header": HEADER, "statement": "theorem broken : 1 = 2 :="}]
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def repl_options(tmp_path: Path) -> list[str]:
    world = chain_world(2)
    world["theorems"].append({"statement": "theorem broken : 1 = 2 :=", "goal": "", "error": "type mismatch"})
    config = script_config(tmp_path, world)
    return ["--backend", "repl", "--repl-project-dir", config.project_dir,
            "--repl-command", shlex.join(config.command)]


@pytest.mark.slow
def test_sweep_with_the_tactic_list(ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["sweep", str(bench(tmp_path)), "--split", "test", "--out", str(out), "--workers", "2",
                 "--policy", "tactics", "--tactics", "split,left,right,step", "--time-limit", "60",
                 *repl_options(tmp_path)])
    assert code == 0
    records = {r["theorem"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert records["chain"]["status"] == "proved"
    assert records["chain"]["proof"] == ["step", "step", "split", "left", "right"]
    assert records["chain"]["trajectory"][0]["state"].startswith("n : Nat")
    assert records["broken"]["status"] == "invalid" and "type mismatch" in records["broken"]["message"]
    err = capsys.readouterr().err
    assert "proved 1 of 1 valid theorems" in err and "report.md" in err
    # resumed with a smaller --limit: it runs the first theorem only, and the report keeps covering both
    assert main(["sweep", str(bench(tmp_path)), "--split", "test", "--out", str(out), "--workers", "2",
                 "--policy", "tactics", "--tactics", "split,left,right,step", "--time-limit", "60",
                 "--limit", "1", *repl_options(tmp_path)]) == 0
    flat = " ".join(capsys.readouterr().err.split())
    assert "resuming" in flat and "1 attempt(s) finished before are kept, 0 to run" in flat
    assert "--limit 1 runs only the first 1 theorem(s)" in flat and "keeps covering all 2 theorem(s)" in flat
    assert json.loads((out / "report.json").read_text())["total"] == 2


@pytest.mark.slow
def test_sweep_with_a_served_model(ray_cluster, tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "out"
    code = main(["sweep", str(bench(tmp_path)), "--out", str(out), "--workers", "2",
                 "--policy", "model", "--model", str(tiny_model_dir), "--model-device", "cpu",
                 "--model-max-new-tokens", "8", "--max-expansions", "3", "--time-limit", "60",
                 "--server-num-cpus", "0.5", *repl_options(tmp_path)])
    assert code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["theorem"] for r in records} == {"chain", "broken"}
    chain = next(r for r in records if r["theorem"] == "chain")
    assert chain["policy"] == str(tiny_model_dir)
    assert chain["stats"]["expansions"] >= 1 and chain["stats"]["model_seconds"] > 0


@pytest.mark.slow
def test_sweep_whose_workers_fit_no_node_exits_3_with_the_reason(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sweep", str(bench(tmp_path)), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--worker-cpus", "64", "--worker-start-timeout", "1", "--policy", "tactics",
                 *repl_options(tmp_path)])
    assert code == 3
    err = capsys.readouterr().err
    assert "no search worker started in 1 s" in err and "64 free CPUs" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_served_model_samples_each_attempt_with_its_own_settings(
        ray_cluster, tmp_path: Path, tiny_model_dir: Path) -> None:
    """pass@2 through the policy servers: the second attempt is a search of its own (its client asks the
    server for attempt 2's seed and temperature), and the folder records the schedule."""
    out = tmp_path / "out"
    code = main(["sweep", str(bench(tmp_path)), "--out", str(out), "--workers", "1", "--attempts", "2",
                 "--policy", "model", "--model", str(tiny_model_dir), "--model-device", "cpu",
                 "--model-max-new-tokens", "8", "--model-seed", "3", "--model-attempt-temperatures", "0.5",
                 "--max-expansions", "3", "--time-limit", "60", "--server-num-cpus", "0.5",
                 *repl_options(tmp_path)])
    assert code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    chain = {r["attempt"]: r for r in records if r["theorem"] == "chain"}
    assert chain[1]["status"] == "unproved" and chain[1]["stats"]["expansions"] >= 1  # the tiny model fails
    assert chain[2]["stats"]["expansions"] >= 1 and chain[2]["stats"]["model_seconds"] > 0
    stored = tomllib.loads((out / "config.toml").read_text())["model"]
    assert (stored["attempt_temperatures"], stored["seed"]) == ([0.5], 3)
