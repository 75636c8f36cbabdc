"""The whole expert-iteration loop, two rounds on CPU: a tiny Qwen2 base model, scripted theorems, real Ray
sweeps, TRL training; interrupted in round 2's training and resumed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from expert_fixtures import scripted_backend_factory, torch_threads
from sweep_fixtures import scripted_spec

import prover.expert.loop as loop
from prover.expert import ExpertConfig, ExpertRun, FilterConfig, TrainConfig, run_expert_iteration
from prover.expert.report import write_folder_report
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.spec import PolicySpec
from prover.sweep import SweepConfig
from search import SearchConfig


class Interrupted(Exception):
    """Stands for a crash (or Ctrl-C) in the middle of a stage."""


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def markers(*folders: Path) -> dict[str, str]:
    paths = [p for folder in folders for p in folder.glob("*.done.json")]
    return {f"{p.parent.name}/{p.name}": p.read_text() for p in paths}


def setup(base: Path, bench: Path, out: Path) -> tuple[ExpertConfig, ExpertRun]:
    model = HFPolicyConfig(model=str(base), device="cpu", seed=0, temperature=1.0, max_new_tokens=16,
                           max_prompt_tokens=128, batch_size=4)
    config = ExpertConfig(
        rounds=2, out=str(out), retrain_every=2,
        filter=FilterConfig(min_pairs=4, easy_quantile_min=0.2, noisy_quantile_min=0.2,
                            noisy_quantile_max=0.3, device="cpu"),
        train=TrainConfig(max_steps=4, batch_size=4, learning_rate=1e-3, warmup=0, save_steps=2,
                          logging_steps=1, gradient_checkpointing=False, device="cpu"))
    spec = scripted_spec(SearchConfig(max_expansions=8, tactics_per_node=8, time_limit=None))
    run = ExpertRun(benchmark=str(bench), backend_factory=scripted_backend_factory(),
                    spec=replace(spec, policy=PolicySpec("model", "lean", model=model)), model_policy=model,
                    sweep=SweepConfig(workers=1, shared_cache=False))
    return config, run


@pytest.mark.slow
def test_two_rounds_interrupted_in_training_then_resumed(ray_cluster, base_model_dir: Path,
                                                         scripted_bench: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    config, run = setup(base_model_dir, scripted_bench, out)
    real_train_sft, real_run_sweep = loop.train_sft, loop.run_sweep

    def crash_in_round_2(pairs, **kwargs):
        if "round-02" in str(kwargs["work_dir"]):
            raise Interrupted
        return real_train_sft(pairs, **kwargs)

    monkeypatch.setattr(loop, "train_sft", crash_in_round_2)
    with torch_threads(1), pytest.raises(Interrupted):
        run_expert_iteration(config, run)
    r1, r2 = out / "round-01", out / "round-02"
    assert all((r1 / f"{stage}.done.json").exists() for stage in ("sweep", "collect", "filter", "train"))
    assert all((r2 / f"{stage}.done.json").exists() for stage in ("sweep", "collect", "filter"))
    assert not (r2 / "train.done.json").exists() and not (r2 / "model").exists()
    before = markers(r1, r2)

    # Round 1: the tiny base model proved the provable theorems; their proofs became pairs.
    first = records(r1 / "sweep")
    proved = {r["theorem"] for r in first if r["status"] == "proved"}
    assert {"add", "add_again", "forall", "le", "imp", "real"} == proved
    assert {r["policy"] for r in first} == {str(base_model_dir)}
    data = json.loads((r1 / "data" / "manifest.json").read_text())
    steps = sum(len(r["trajectory"]) for r in first if r["status"] == "proved")
    assert data["counts"]["steps"] == steps and data["counts"]["duplicate_pairs"] >= 1  # add == add_again
    assert data["counts"]["pairs"] == steps - data["counts"]["duplicate_pairs"]
    assert data["model"] == str(base_model_dir) and data["round"] == 1
    kept = json.loads((r1 / "filter" / "manifest.json").read_text())
    assert kept["kept"] + sum(kept["dropped"].values()) == data["counts"]["pairs"]
    assert kept["dropped"]["easy"] >= 1 and kept["dropped"]["noisy"] >= 1  # the quantile floors bite
    model_1 = json.loads((r1 / "train.done.json").read_text())["model"]
    assert model_1 == str((r1 / "model").resolve())

    # Round 2 swept with round 1's model.
    assert {r["policy"] for r in records(r2 / "sweep")} == {model_1}

    # Rerun: only round 2's training and the evaluation sweep run.
    sweeps: list[str] = []

    def counting_sweep(sweep, *args, **kwargs):
        sweeps.append(sweep.out)
        return real_run_sweep(sweep, *args, **kwargs)

    monkeypatch.setattr(loop, "train_sft", real_train_sft)
    monkeypatch.setattr(loop, "run_sweep", counting_sweep)
    with torch_threads(1):
        report = run_expert_iteration(config, run)
    assert sweeps == [str(out / "round-03" / "sweep")]
    after = markers(r1, r2)
    assert {name: after[name] for name in before} == before  # finished stages were not run again
    train_2 = json.loads((r2 / "train.done.json").read_text())
    assert train_2["mode"] == "retrain_from_base" and train_2["init_model"] == str(base_model_dir)
    assert train_2["pairs"] >= kept["kept"]  # the union of both rounds' kept pairs
    assert {r["policy"] for r in records(out / "round-03" / "sweep")} == {train_2["model"]}

    check_model_loads(Path(train_2["model"]), base_model_dir)
    assert [m.round for m in report.rounds] == [1, 2, 3] and report.rounds[2].evaluation
    assert report.rounds[0].proved == len(proved) and report.rounds[0].kept == kept["kept"]
    assert report.rounds[1].train_mode == "retrain_from_base" and report.rounds[1].train_loss > 0
    assert report.paths["plot"].stat().st_size > 1000
    assert "| 3 (evaluation) |" in report.paths["markdown"].read_text()
    assert json.loads(report.paths["json"].read_text())["rounds"][0]["pairs"] == data["counts"]["pairs"]
    assert write_folder_report(out).rounds == report.rounds  # `prover report` reads the same from the folder


def check_model_loads(model_dir: Path, base: Path) -> None:
    """The checkpoint loads, differs from the base model, and the step prover samples tactics from it."""
    import torch
    from transformers import AutoModelForCausalLM

    from prover.policies.hf_policy import HFPolicy

    trained = AutoModelForCausalLM.from_pretrained(model_dir)
    original = AutoModelForCausalLM.from_pretrained(base)
    pairs = zip(trained.parameters(), original.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    policy = HFPolicy(HFPolicyConfig(model=str(model_dir), device="cpu", seed=0, max_new_tokens=16))
    assert policy.propose(["x : ℕ\n⊢ x + 0 = x"], 4)[0]
