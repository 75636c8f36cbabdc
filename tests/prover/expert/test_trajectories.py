"""Pairs and preference pairs from sweep records: what is collected, de-duplicated, written and read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.expert import NoSweepResultsError, collect_trajectories, union_pairs, write_trajectories
from prover.expert.stages import read_jsonl
from prover.expert.trajectories import drop_contradicted


def step(state: str, tactic: str, logprob: float, depth: int, failed=()) -> dict:
    return {"state": state, "tactic": tactic, "logprob": logprob, "depth": depth,
            "failed": [list(f) for f in failed]}


def record(theorem: str, status: str, trajectory=None, attempt: int = 1, policy: str = "/models/m0") -> dict:
    return {"theorem": theorem, "split": "test", "attempt": attempt, "status": status, "policy": policy,
            "trajectory": trajectory, "proof": [s["tactic"] for s in trajectory or []]}


def write_results(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n" + '{"torn', encoding="utf-8")
    return folder


RECORDS = [
    record("t1", "proved", [step("⊢ a", "intro x", -0.2, 0, [("simp", "simp made no progress"),
                                                               ("intro x", "dup of the chosen one")]),
                            step("x : ℕ\n⊢ b x", "omega", -0.1, 1, [("linarith", "failed")])]),
    record("t2", "unproved", None),
    record("t2", "proved", [step("⊢ a", "intro x", -0.3, 0, [("simp", "simp made no progress")]),
                            step("x : ℕ\n⊢ b x", "simp", -0.5, 1)], attempt=2, policy="/models/m1"),
    record("t3", "proved", []),  # finished from the proof cache: no steps of its own
    record("t4", "invalid", None),
]


def test_pairs_and_preferences_are_collected_and_deduplicated(tmp_path: Path) -> None:
    data = collect_trajectories([write_results(tmp_path / "sweep", RECORDS)], round_number=3)
    assert [(p["state"], p["tactic"]) for p in data.pairs] == [
        ("⊢ a", "intro x"), ("x : ℕ\n⊢ b x", "omega"), ("x : ℕ\n⊢ b x", "simp")]
    first = data.pairs[0]
    assert first == {"state": "⊢ a", "tactic": "intro x", "theorem": "t1", "split": "test", "attempt": 1,
                     "round": 3, "policy": "/models/m0", "logprob": -0.2, "depth": 0, "occurrences": 2}
    assert data.pairs[2]["policy"] == "/models/m1" and data.pairs[2]["attempt"] == 2
    assert [(p["chosen"], p["rejected"], p["occurrences"]) for p in data.preferences] == [
        ("intro x", "simp", 2), ("omega", "linarith", 1)]  # a sibling equal to the chosen one is no pair
    assert data.preferences[0]["rejected_message"] == "simp made no progress"
    assert dict(data.counts) == {"records": 5, "proved": 3, "without_trajectory": 1, "steps": 4, "pairs": 3,
                                 "duplicate_pairs": 1, "rejected_siblings": 3, "preferences": 2,
                                 "duplicate_preferences": 1, "contradicted_preferences": 0}
    assert dict(data.policies) == {"/models/m0": 2, "/models/m1": 1}


def test_written_files_are_read_by_datasets_with_a_manifest(tmp_path: Path) -> None:
    from datasets import load_dataset

    source = write_results(tmp_path / "sweep", RECORDS)
    data = collect_trajectories([source], round_number=1)
    manifest = write_trajectories(data, tmp_path / "data", round_number=1, sources=[source])
    assert json.loads((tmp_path / "data" / "manifest.json").read_text()) == manifest
    assert manifest["round"] == 1 and manifest["sources"] == [str(source.resolve())]
    assert manifest["counts"]["pairs"] == 3 and manifest["counts"]["preferences"] == 2
    assert manifest["model"] is None and manifest["models"] == {"/models/m0": 2, "/models/m1": 1}
    assert manifest["created_at"]
    cache = str(tmp_path / "hf-cache")
    pairs = load_dataset("json", data_files=str(tmp_path / "data" / "pairs.jsonl"), split="train",
                         cache_dir=cache)
    assert pairs.num_rows == 3 and pairs[1]["state"] == "x : ℕ\n⊢ b x" and pairs[1]["tactic"] == "omega"
    preferences = load_dataset("json", data_files=str(tmp_path / "data" / "preferences.jsonl"),
                               split="train", cache_dir=cache)
    assert set(preferences.column_names) >= {"state", "chosen", "rejected", "theorem", "round"}
    assert preferences[0]["chosen"] == "intro x" and preferences[0]["rejected"] == "simp"


def test_several_sweeps_and_rounds_are_merged(tmp_path: Path) -> None:
    a = write_results(tmp_path / "a", RECORDS[:1])
    b = write_results(tmp_path / "b", RECORDS[2:3])
    data = collect_trajectories([a, b], round_number=1)
    assert data.counts["pairs"] == 3 and data.counts["duplicate_pairs"] == 1
    merged = union_pairs([data.pairs, [dict(data.pairs[0], round=2)], [{"state": "s", "tactic": "t"}]])
    assert [(p["tactic"], p.get("round"), p.get("occurrences")) for p in merged] == [
        ("intro x", 1, 4), ("omega", 1, 1), ("simp", 1, 1), ("t", None, None)]


def test_missing_results_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(NoSweepResultsError) as info:
        collect_trajectories([tmp_path], round_number=1)
    assert info.value.folder == tmp_path


def test_written_jsonl_round_trips_unicode(tmp_path: Path) -> None:
    data = collect_trajectories([write_results(tmp_path / "sweep", RECORDS)], round_number=1)
    write_trajectories(data, tmp_path / "data", round_number=1, sources=[tmp_path / "sweep"])
    assert list(read_jsonl(tmp_path / "data" / "pairs.jsonl")) == data.pairs
    assert "ℕ" in (tmp_path / "data" / "pairs.jsonl").read_text(encoding="utf-8")


def test_a_tactic_that_timed_out_where_it_works_elsewhere_is_no_rejection(tmp_path: Path) -> None:
    state = "1 goal\n  n : nat\n  ============================\n  n < S n"
    records = [
        record("a", "proved", [step(state, "lia", -1.0, 0, [("auto", "timeout after 5s"),
                                                            ("simpl", "no progress")])]),
        record("b", "proved", [step(state, "auto", -1.0, 0)]),  # auto proves the same state here
    ]
    data = collect_trajectories([write_results(tmp_path / "sweep", records)], round_number=1)
    assert [(p["state"], p["tactic"]) for p in data.pairs] == [(state, "lia"), (state, "auto")]
    assert [(p["chosen"], p["rejected"]) for p in data.preferences] == [("lia", "simpl")]
    assert data.counts["contradicted_preferences"] == 1 and data.counts["preferences"] == 1
    assert data.counts["duplicate_preferences"] == 0


def test_drop_contradicted_checks_the_state_and_the_tactic_together() -> None:
    preferences = [{"state": "s", "chosen": "a", "rejected": "b"},
                   {"state": "t", "chosen": "a", "rejected": "b"},
                   {"state": "s", "chosen": "a", "rejected": "c"}]
    pairs = [{"state": "s", "tactic": "b"}, {"state": "u", "tactic": "c"}]  # c works at u, not known at s
    assert drop_contradicted(preferences, pairs) == preferences[1:]


def test_a_line_separator_inside_a_tactic_keeps_the_record_whole(tmp_path: Path) -> None:
    # json.dumps(ensure_ascii=False) writes U+2028 and U+0085 raw; str.splitlines would cut the line there
    tactic = "idtac \"a\u2028b\u0085c\"; omega"
    records = [record("t1", "proved", [step("⊢ a", tactic, -0.1, 0)])]
    data = collect_trajectories([write_results(tmp_path / "sweep", records)], round_number=1)
    assert [p["tactic"] for p in data.pairs] == [tactic]
