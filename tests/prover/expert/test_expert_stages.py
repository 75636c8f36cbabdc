"""Stage markers (done only after the outputs), and which data each round trains on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from prover.expert import ExpertConfig, StageOrderError, TrainConfig, run_stage, stage_info
from prover.expert.loop import check_run, model_for_round, train_stage, training_data
from prover.expert.run_manifest import RunMismatchError
from prover.expert.stages import round_dir, write_jsonl
from prover.theorem_input import InputError


def test_a_stage_runs_once_and_is_skipped_afterwards(tmp_path: Path) -> None:
    calls = []

    def action() -> dict:
        calls.append(1)
        (tmp_path / "output.txt").write_text("done")
        return {"value": 7}

    info, ran = run_stage(tmp_path, "collect", action)
    assert ran and info["value"] == 7 and info["seconds"] >= 0 and info["finished_at"]
    again, ran = run_stage(tmp_path, "collect", action)
    assert not ran and again == info and calls == [1]
    assert stage_info(tmp_path, "collect") == info
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_failed_stage_leaves_no_marker_and_runs_again(tmp_path: Path) -> None:
    def broken() -> dict:
        raise RuntimeError("cut off")

    with pytest.raises(RuntimeError):
        run_stage(tmp_path, "filter", broken)
    assert stage_info(tmp_path, "filter") is None
    _, ran = run_stage(tmp_path, "filter", lambda: {})
    assert ran


def test_the_model_of_a_round_is_the_previous_rounds(tmp_path: Path) -> None:
    assert model_for_round(tmp_path, 1, "base") == "base"
    with pytest.raises(StageOrderError) as info:
        model_for_round(tmp_path, 2, "base")
    assert info.value.missing == "train"
    run_stage(round_dir(tmp_path, 1), "train", lambda: {"model": "/run/round-01/model"})
    assert model_for_round(tmp_path, 2, "base") == str(round_dir(tmp_path, 1) / "model")


def test_rounds_continue_on_new_data_and_retrain_on_the_union(tmp_path: Path) -> None:
    for r, tactics in ((1, ["a", "b"]), (2, ["b", "c"]), (3, ["d"])):
        rows = [{"state": "s", "tactic": t, "round": r, "occurrences": 1} for t in tactics]
        write_jsonl(round_dir(tmp_path, r) / "filter" / "kept.jsonl", rows)
        preferences = [{"state": "s", "chosen": t, "rejected": "x", "occurrences": 1} for t in tactics]
        write_jsonl(round_dir(tmp_path, r) / "filter" / "preferences.jsonl", preferences)
        write_jsonl(round_dir(tmp_path, r) / "data" / "pairs.jsonl", rows)
    config = ExpertConfig(retrain_every=2)
    retrain, pairs, preferences = training_data(config, tmp_path, 1)
    assert not retrain and [p["tactic"] for p in pairs] == ["a", "b"]
    retrain, pairs, preferences = training_data(config, tmp_path, 2)
    assert retrain and [(p["tactic"], p["round"], p["occurrences"]) for p in pairs] == [
        ("a", 1, 1), ("b", 1, 2), ("c", 2, 1)]
    assert [p["chosen"] for p in preferences] == ["a", "b", "c"]
    # a tactic round 1 rejected at a state proved something there in round 2: no longer a rejection
    write_jsonl(round_dir(tmp_path, 2) / "data" / "pairs.jsonl", [{"state": "s", "tactic": "x"}])
    assert training_data(config, tmp_path, 2)[2] == []
    retrain, pairs, _ = training_data(config, tmp_path, 3)
    assert not retrain and [p["tactic"] for p in pairs] == ["d"]
    never = ExpertConfig(retrain_every=0)
    assert not training_data(never, tmp_path, 2)[0]


def test_markers_are_plain_json(tmp_path: Path) -> None:
    run_stage(tmp_path, "sweep", lambda: {"proved": 3, "policy": "ℕ-model"})
    assert json.loads((tmp_path / "sweep.done.json").read_text(encoding="utf-8"))["policy"] == "ℕ-model"


def write_round(out: Path, r: int, tactics: list[str]) -> Path:
    folder = round_dir(out, r)
    write_jsonl(folder / "filter" / "kept.jsonl",
                [{"state": "x : ℕ\n⊢ x + 0 = x", "tactic": t, "occurrences": 1} for t in tactics])
    write_jsonl(folder / "filter" / "preferences.jsonl",
                [{"state": "x : ℕ\n⊢ x + 0 = x", "chosen": t, "rejected": "omega", "occurrences": 1}
                 for t in tactics])
    return folder


def test_a_round_without_kept_pairs_keeps_the_current_model(tmp_path: Path) -> None:
    folder = write_round(tmp_path, 1, [])
    info = train_stage(ExpertConfig(), tmp_path, folder, 1, "/models/current", "/models/base")
    assert info["mode"] == "skipped" and info["model"] == "/models/current" and info["steps"] == 0
    assert not (folder / "model").exists()


def test_sft_then_dpo_when_asked(base_model_dir: Path, tmp_path: Path) -> None:
    folder = write_round(tmp_path, 1, ["simp", "rfl"])
    train = TrainConfig(max_steps=2, batch_size=2, warmup=0, gradient_checkpointing=False, device="cpu",
                        dpo=True, dpo_learning_rate=1e-4)
    with torch_threads(1):
        info = train_stage(ExpertConfig(train=train), tmp_path, folder, 1, str(base_model_dir),
                           str(base_model_dir))
    assert info["mode"] == "continue" and info["pairs"] == 2 and info["preferences"] == 2
    assert info["sft"]["model_dir"] == str(folder / "train" / "sft-model")
    assert info["dpo"]["init_model"] == info["sft"]["model_dir"] and info["dpo"]["kind"] == "dpo"
    assert info["model"] == str(folder / "model") and (folder / "model" / "config.json").exists()


def test_a_run_folder_refuses_another_benchmark_or_base_model(tmp_path: Path) -> None:
    manifest = {"benchmark": "/b/minif2f.jsonl", "base_model": "/models/base", "backend": "repl"}
    check_run(tmp_path, manifest)
    check_run(tmp_path, manifest | {"backend": "dojo"})  # only benchmark and base model must match
    with pytest.raises(RunMismatchError) as info:
        check_run(tmp_path, manifest | {"base_model": "/models/other"})
    assert info.value.key == "base_model" and info.value.old == "/models/base"
    assert isinstance(info.value, InputError)  # the CLI reports it as bad input


def test_each_round_uses_its_own_folder_s_model_even_when_the_run_was_moved(tmp_path: Path) -> None:
    """The recorded path is where the model was trained; a copied or moved run uses its own copy."""
    out = tmp_path / "moved"
    (round_dir(out, 1)).mkdir(parents=True)
    (round_dir(out, 1) / "train.done.json").write_text(json.dumps(
        {"mode": "continue", "model": "/somewhere/else/round-01/model"}))
    (round_dir(out, 2)).mkdir()
    (round_dir(out, 2) / "train.done.json").write_text(json.dumps(
        {"mode": "skipped", "model": "/somewhere/else/round-01/model"}))
    assert model_for_round(out, 1, "/base") == "/base"
    assert model_for_round(out, 2, "/base") == str(round_dir(out, 1) / "model")
    assert model_for_round(out, 3, "/base") == str(round_dir(out, 1) / "model")  # round 2 trained nothing


def test_a_local_base_model_is_one_run_by_any_name_and_the_filter_keeps_what_training_takes_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from prover.expert import FilterConfig
    from prover.expert.loop import base_model, scoring_length

    (tmp_path / "base").mkdir()
    monkeypatch.chdir(tmp_path)
    run = SimpleNamespace(model_policy=SimpleNamespace(model="org/hub-model"))
    named = [base_model(ExpertConfig(base_model=name), run) for name in ("base", str(tmp_path / "base"))]
    assert named == [str(tmp_path / "base")] * 2
    assert base_model(ExpertConfig(), run) == "org/hub-model"  # a hub id as given
    config = ExpertConfig(filter=FilterConfig(max_length=2048), train=TrainConfig(max_length=512))
    assert scoring_length(config) == 512  # a pair training would cut before its EOS is not kept


def test_a_round_s_sweep_with_errored_attempts_is_not_done(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that kept dying leaves error records: the round must not build on a partial sweep, and a
    rerun runs those attempts again (the stage has no marker)."""
    from types import SimpleNamespace

    import prover.expert.loop as loop
    from prover.sweep import SweepConfig
    from prover.sweep.errors import ErroredAttemptsError

    errors = {"count": 2}

    def fake_sweep(sweep, spec, **_: object) -> tuple[object, dict[str, Path]]:
        summary = SimpleNamespace(total=3, invalid=0, proved=1, pass_rate=1 / 3, errors=errors["count"],
                                  pending=0)
        return summary, {"markdown": Path(sweep.out) / "report.md"}

    monkeypatch.setattr(loop, "run_sweep", fake_sweep)
    run = SimpleNamespace(sweep=SweepConfig(), backend_factory=object(), benchmark="b.jsonl")
    spec = SimpleNamespace(backend=SimpleNamespace(name="coq", config=None), server=None,
                           driver=SimpleNamespace(sessions=1),
                           policy=SimpleNamespace(model=None, label="tactics"))
    folder = round_dir(tmp_path, 1)
    with pytest.raises(ErroredAttemptsError, match="left 2 theorem"):
        run_stage(folder, "sweep", lambda: loop.sweep_stage(run, folder, spec, None))
    assert stage_info(folder, "sweep") is None
    errors["count"] = 0  # the rerun's sweep ran them again
    info, ran = run_stage(folder, "sweep", lambda: loop.sweep_stage(run, folder, spec, None))
    assert ran and info["proved"] == 1


def test_a_continued_round_drops_preferences_rejecting_what_an_earlier_round_proved(tmp_path: Path) -> None:
    """Round 1 proved state s with x (and trained on it); in round 2 x failed at s. Continuing (no retrain),
    round 2's DPO must not lower what round 1's SFT raised."""
    write_jsonl(round_dir(tmp_path, 1) / "data" / "pairs.jsonl", [{"state": "s", "tactic": "x"}])
    write_jsonl(round_dir(tmp_path, 2) / "data" / "pairs.jsonl", [{"state": "s", "tactic": "y"}])
    write_jsonl(round_dir(tmp_path, 2) / "filter" / "kept.jsonl",
                [{"state": "s", "tactic": "y", "occurrences": 1}])
    write_jsonl(round_dir(tmp_path, 2) / "filter" / "preferences.jsonl",
                [{"state": "s", "chosen": "y", "rejected": rejected, "occurrences": 1} for rejected in "xz"])
    retrain, pairs, preferences = training_data(ExpertConfig(retrain_every=0), tmp_path, 2)
    assert not retrain and [p["tactic"] for p in pairs] == ["y"]
    assert [p["rejected"] for p in preferences] == ["z"]


def test_the_filter_drops_preferences_whose_rejected_side_is_too_long(base_model_dir: Path,
                                                                      tmp_path: Path) -> None:
    """DPO would compare a whole chosen tactic with a cut rejected one: such a preference is dropped and
    counted, as a too-long chosen pair drops its preferences."""
    from expert_fixtures import ADD, FORALL

    from planner.model_loading import load_tokenizer
    from prover.expert import FilterConfig
    from prover.expert.loop import filter_stage
    from prover.expert.perplexity import encode_pair

    long_tactic = "simp only [Nat.add_zero, Nat.zero_add, Nat.add_comm] at * <;> omega " * 8
    folder = round_dir(tmp_path, 1)
    write_jsonl(folder / "data" / "pairs.jsonl", [{"state": ADD, "tactic": "simp"},
                                                   {"state": FORALL, "tactic": "intro n"}])
    write_jsonl(folder / "data" / "preferences.jsonl",
                [{"state": ADD, "chosen": "simp", "rejected": "omega"},
                 {"state": ADD, "chosen": "simp", "rejected": long_tactic},
                 {"state": FORALL, "chosen": "intro n", "rejected": "simp"}])
    tokenizer = load_tokenizer(str(base_model_dir))
    limit = 64
    assert len(encode_pair(tokenizer, ADD, long_tactic).ids) > limit >= max(
        len(encode_pair(tokenizer, state, tactic).ids) for state, tactic in
        ((ADD, "simp"), (ADD, "omega"), (FORALL, "intro n"), (FORALL, "simp")))
    config = ExpertConfig(filter=FilterConfig(max_length=limit, device="cpu"))
    with torch_threads(1):
        info = filter_stage(config, folder, 1, str(base_model_dir))
    assert info["kept"] == 2 and info["preferences_kept"] == 2 and info["preferences_rejected_too_long"] == 1
    kept = [json.loads(line) for line in (folder / "filter" / "preferences.jsonl").read_text().splitlines()]
    assert [p["rejected"] for p in kept] == ["omega", "simp"]
    manifest = json.loads((folder / "filter" / "manifest.json").read_text())
    assert manifest["preferences"] == {"collected": 3, "kept": 2,
                                       "dropped": {"chosen_dropped": 0, "rejected_too_long": 1}}
