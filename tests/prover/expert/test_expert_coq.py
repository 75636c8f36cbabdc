"""``prover train`` end to end against real Coq: round 1 bootstraps with the tactic list, its kernel-checked
proofs become training pairs, a tiny model trains on them, and the evaluation sweep runs that model in
Coq."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from prover.cli.main import main


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_one_round_on_coq_then_an_evaluation_sweep_with_the_trained_model(
        ray_cluster, base_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import prover.parallel.policy_server as policy_server

    served = []
    real_serve_model = policy_server.serve_model

    def spy(model, config, label):
        served.append((model.model, config.replicas))
        return real_serve_model(model, config, label)

    monkeypatch.setattr(policy_server, "serve_model", spy)
    out = tmp_path / "run"
    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
            "--limit", "6", "--rounds", "1", "--out", str(out), "--workers", "2",
            "--max-expansions", "16", "--tactic-timeout", "2",
            "--model", str(base_model_dir), "--model-device", "cpu", "--model-max-new-tokens", "12",
            "--model-seed", "0", "--filter-min-pairs", "2", "--filter-device", "cpu",
            "--train-device", "cpu", "--train-max-steps", "3", "--train-batch-size", "4",
            "--no-train-gradient-checkpointing", "--server-num-cpus", "0.5"]
    with torch_threads(1):
        assert main(argv) == 0
    first = records(out / "round-01" / "sweep")
    proved = [r for r in first if r["status"] == "proved"]
    assert len(first) == 6 and len(proved) >= 4
    assert all("\nQed.\n" in r["proof_text"] for r in proved)  # coqc checked each one
    # the tactic list's libraries were loaded after the header, and the statement checked under them
    assert all(r["proof_text"].rstrip().endswith("End ProverStatementCheck.") for r in proved)

    data = json.loads((out / "round-01" / "data" / "manifest.json").read_text())
    steps = sum(len(r["trajectory"]) for r in proved)
    assert data["counts"]["steps"] == steps >= len(proved)
    pairs_file = out / "round-01" / "data" / "pairs.jsonl"
    pairs = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    tactics = {p["tactic"] for p in pairs}
    assert tactics <= {t for r in proved for t in r["proof"]}  # pairs come from the proofs Coq accepted
    assert all("nat" in p["state"] or "list" in p["state"] or "Prop" in p["state"] for p in pairs)

    kept = json.loads((out / "round-01" / "filter" / "manifest.json").read_text())
    assert kept["kept"] + sum(kept["dropped"].values()) == data["counts"]["pairs"]
    train = json.loads((out / "round-01" / "train.done.json").read_text())
    assert train["pairs"] == kept["kept"] >= 1 and train["init_model"] == str(base_model_dir)
    trained = train["model"]
    assert (Path(trained) / "config.json").exists()
    evaluation = records(out / "round-02" / "sweep")
    assert len(evaluation) == 6 and {r["policy"] for r in evaluation} == {trained}
    assert served == [(trained, 1)]  # the model round swept through one batching policy server
    for record in evaluation:
        assert record["status"] in ("proved", "unproved"), record
        if record["status"] == "proved":
            assert record["proof_text"].rstrip().endswith("Qed.")
    assert "| 2 (evaluation) |" in (out / "report.md").read_text()


def test_a_resumed_train_run_with_other_settings_is_refused_naming_them(
        base_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The run folder records its configuration; more rounds extend it, changed training does not."""
    import prover.expert.loop as loop
    from prover.expert.report import ExpertReport

    ran: list[int] = []
    monkeypatch.setattr(loop, "run_expert_iteration",
                        lambda config, run, console=None: ran.append(config.rounds) or ExpertReport([], {}))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
            "--out", "run", "--model", str(base_model_dir), "--train-max-steps", "3"]
    assert main([*argv, "--rounds", "1"]) == 0
    assert (out / "train.json").exists() and "max_steps = 3" in (out / "config.toml").read_text()
    assert main([*argv, "--rounds", "2"]) == 0  # one more round continues the run
    absolute = [str(out) if a == "run" else a for a in argv]
    assert main([*absolute, "--rounds", "2"]) == 0  # the same folder named another way
    capsys.readouterr()
    assert main([*argv[:-1], "5", "--rounds", "2", "--filter-min-pairs", "7"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "holds an expert-iteration run with another configuration" in error
    assert "train.max_steps: 3 there, 5 now" in error and "filter.min_pairs" in error
    assert ran == [1, 2, 2]
