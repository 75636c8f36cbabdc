"""The retrieval loop's tactic-model stage (``prover.expert.tactic_rounds``) on a handwritten traced
dataset, without Coq or Ray: round 0 trains the tiny preset for a few seconds on the train file's pairs and
lowers its perplexity on their held-out twins (the test file's steps: the same goals and tactics with other
names); round 1 continues on what round 0 added, by the stated rule; a finished stage is skipped; the
report shows both rounds; bad settings are clear errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from prover.cli.main import main
from prover.expert import TrainConfig
from prover.expert import tactic_rounds as stage_module
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.pair_split import every_nth, read_pair_split
from prover.expert.retrieval_report import write_retrieval_report
from prover.expert.run_manifest import RunMismatchError
from prover.expert.small_model_presets import DEFAULT_TRAIN_SECONDS, PRESETS, preset_train_config
from prover.expert.stages import write_json, write_jsonl
from prover.expert.tactic_rounds import TacticRounds
from prover.stdlib_bench.split import split_of
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.dataset import Dataset, UnitRecord
from prover.tracing.schema import StepRow
from search.validation import ConfigError

TRAIN_UNIT, TEST_UNIT, VALID_UNIT = "Dev/T0.v", "Dev/T2.v", "Dev/T7.v"
GOALS = [  # (hypotheses, goal, tactic) with {v} a variable's name
    ("{v} : nat", "{v} + 0 = {v}", "induction {v}; simpl; auto"),
    ("{v} : list nat", "{v} ++ nil = {v}", "apply app_nil_r"),
    ("{v} : list nat", "rev (rev {v}) = {v}", "apply rev_involutive"),
    ("P : Prop\n  {v} : P", "P", "exact {v}"),
    ("{v} : nat", "0 + {v} = {v}", "reflexivity"),
    ("{v} : bool", "negb (negb {v}) = {v}", "destruct {v}; reflexivity"),
]
TRAIN_NAMES, TEST_NAMES = ("n", "m", "k"), ("x",)


def state(hypotheses: str, goal: str, name: str) -> str:
    return f"1 goal\n  {hypotheses.format(v=name)}\n  ============================\n  {goal.format(v=name)}"


def pairs_named(names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(state(h, g, name), t.format(v=name)) for name in names for h, g, t in GOALS]


def add_unit(dataset: Dataset, unit: str, pairs: list[tuple[str, str]]) -> None:
    rows = [StepRow(source=STDLIB_SOURCE, assistant="coq", file=unit, theorem=f"lemma_{i}", line=i + 1,
                    column=0, step=0, state_before=s, tactic=t, state_after="", closed=True, trace="t")
            for i, (s, t) in enumerate(pairs)]
    dataset.add_unit(UnitRecord(source=STDLIB_SOURCE, unit=unit, trace="t", shard=None, rows=0), rows)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A traced dataset: a train file, a test file of the same goals with other names, a valid file."""
    assert (split_of(TRAIN_UNIT), split_of(TEST_UNIT), split_of(VALID_UNIT)) == ("train", "test", "valid")
    folder = tmp_path_factory.mktemp("tactic_corpus") / "ds"
    dataset = Dataset(folder)
    add_unit(dataset, TRAIN_UNIT, pairs_named(TRAIN_NAMES))
    add_unit(dataset, TEST_UNIT, pairs_named(TEST_NAMES))
    add_unit(dataset, VALID_UNIT, pairs_named(("v",)))
    return folder


LOOP = RetrievalLoopConfig(tactic_model="tiny", tactic_heldout_pairs=4, tactic_k=2, tactic_max_new_tokens=16,
                           tactic_eval_batch=4)
# a few seconds of the tiny preset: as many passes as fit (the time stops it), no warm-up, a high rate
TRAIN = TrainConfig(max_seconds=3, epochs=2000, warmup=0, learning_rate=1e-2, device="cpu", seed=1,
                    logging_steps=10)


def test_the_split_holds_train_pairs_once_and_the_test_file_rows_and_extra_pairs_skip_held_out_states(
        corpus: Path, tmp_path: Path) -> None:
    held_state, held_tactic = pairs_named(TEST_NAMES)[0]
    extra = tmp_path / "added.jsonl"
    write_jsonl(extra, [{"state": held_state, "tactic": "lia"}, {"state": "new", "tactic": "auto"},
                        {"state": "new", "tactic": "auto"}, {"state": pairs_named(("n",))[0][0],
                                                             "tactic": GOALS[0][2].format(v="n")}])
    split = read_pair_split(corpus, [extra])
    assert split.heldout == pairs_named(TEST_NAMES)  # trace order; the valid file is in neither part
    assert split.train == [*pairs_named(TRAIN_NAMES), ("new", "auto")]  # de-duplicated, first kept
    assert split.counts["extra_dropped_heldout_state"] == 1 and split.counts["extra_pairs"] == 3
    assert (held_state, held_tactic) not in split.train
    assert every_nth(list(range(10)), 3) == [0, 3, 6] and every_nth([1, 2], 5) == [1, 2]


def test_a_preset_fills_the_training_settings_left_at_their_defaults() -> None:
    tiny = PRESETS["tiny"]
    config = preset_train_config(tiny, TrainConfig(learning_rate=1e-2))
    assert config.learning_rate == 1e-2  # set by the user: kept
    assert (config.lr_scheduler, config.batch_size, config.max_length) == ("constant_with_warmup", 8, 512)
    assert config.max_seconds == DEFAULT_TRAIN_SECONDS and not config.gradient_checkpointing
    folder = preset_train_config(None, TrainConfig(max_seconds=7))  # a model folder: only the time default
    assert folder == TrainConfig(max_seconds=7)
    assert preset_train_config(None, TrainConfig()).max_seconds == DEFAULT_TRAIN_SECONDS


@pytest.fixture(scope="module")
def round_0(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A run folder whose tactic model finished round 0 (a few seconds of training), and its marker."""
    out = tmp_path_factory.mktemp("tactic_run") / "run"
    rounds = TacticRounds(out, LOOP, TRAIN)
    plan = rounds.plan(corpus)
    assert rounds.heldout == every_nth(pairs_named(TEST_NAMES), 4) and plan["heldout"]["pairs"] == 4
    assert plan["round0"]["pairs"] == len(pairs_named(TRAIN_NAMES)) and plan["train"]["max_seconds"] == 3
    with torch_threads(1):
        return out, rounds.run_round(0)


def test_round_0_trains_on_the_train_pairs_and_lowers_the_held_out_twins_perplexity(round_0) -> None:
    out, first = round_0
    assert json.loads((out / "round-00" / "tactic_model.done.json").read_text()) == first
    assert first["pairs"] == {"given": 18, "heldout_state": 0, "duplicate": 0, "too_long": 0, "trained": 18}
    assert first["training"]["steps"] >= 1 and first["training"]["time_limited"]
    assert first["init_model"] == str(out / "tactic-model" / "base") and first["before_is"] == "initial model"
    before, after = first["before"], first["after"]
    assert after["perplexity"] < before["perplexity"]  # the held-out twins became likelier
    assert before["pairs"] == after["pairs"] == 4 and before["k"] == 2 and before["tokens"] == after["tokens"]
    assert 0 <= after["top1"] <= after["topk"] <= 1 and "nll_per_tactic" in after
    assert not (out / "round-00" / "tactic-model" / "sft").exists()  # checkpoints go once the model is final


def test_a_finished_round_is_skipped_and_another_plan_is_refused(
        round_0, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, first = round_0

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished stage trained again")

    monkeypatch.setattr(stage_module.TacticRounds, "train_round", no_training)
    resumed = TacticRounds(out, LOOP, TRAIN)
    resumed.plan(corpus)
    assert resumed.run_round(0) == first
    with pytest.raises(RunMismatchError, match="another heldout"):
        TacticRounds(out, replace(LOOP, tactic_heldout_pairs=3), TRAIN).plan(corpus)
    with pytest.raises(RunMismatchError, match="another train"):
        TacticRounds(out, LOOP, TrainConfig(max_seconds=5)).plan(corpus)


@pytest.mark.slow
def test_round_1_continues_on_the_added_pairs_a_round_with_nothing_new_keeps_the_model_and_the_report(
        round_0, corpus: Path, tmp_path: Path) -> None:
    out, first = round_0
    rounds = TacticRounds(out, LOOP, TRAIN)
    rounds.plan(corpus)
    added = tmp_path / "added.jsonl"  # what round 0 added to the corpus
    new = [{"state": state("{v} : nat", "{v} * 1 = {v}", "p"), "tactic": "lia"},
           {"state": state("{v} : nat", "1 * {v} = {v}", "q"), "tactic": "simpl; lia"}]
    trained = pairs_named(("n",))[1]  # a round-0 pair
    write_jsonl(added, [*new, {"state": rounds.heldout[0][0], "tactic": "auto"},  # a held-out state
                        {"state": trained[0], "tactic": trained[1]}])
    with torch_threads(1):
        second = rounds.run_round(1, [added])
    assert second["pairs"] == {"given": 4, "heldout_state": 1, "duplicate": 1, "too_long": 0, "trained": 2}
    assert second["init_model"] == first["model_dir"] and second["before"] == first["after"]
    assert second["model_dir"] == str(out / "round-01" / "tactic-model" / "model")
    assert second["training"]["examples"] == 2 and second["after"]["pairs"] == 4

    nothing = tmp_path / "nothing.jsonl"
    write_jsonl(nothing, [new[0]])  # round 1 trained on it already
    third = rounds.run_round(2, [nothing])
    assert third["pairs"]["trained"] == 0 and third["pairs"]["duplicate"] == 1 and third["training"] is None
    assert third["model_dir"] == second["model_dir"] and third["after"] == third["before"] == second["after"]

    write_json(out / "run.json", {"loop": "retrieval", "budget": {"max_expansions": 8}})
    write_json(out / "round-00" / "heldout.done.json", {"proved": 1, "valid": 2})
    report = write_retrieval_report(out, "tactic")
    assert [row.tactic is not None for row in report.rounds] == [True, True, True]
    text = (out / "report.md").read_text()
    assert "## Tactic model: held-out tactic prediction" in text
    assert f"| 0 | 18 of 18 | {first['training']['steps']} steps" in text
    assert "| 2 | 0 of 1 (1 already trained on) | - |" in text
    before, after = first["before"], first["after"]
    assert f"| {before['perplexity']:.2f} | {after['perplexity']:.2f} |" in text
    rows = json.loads((out / "report.json").read_text())["rounds"]
    assert rows[1]["tactic"]["trained_pairs"] == 2 and rows[1]["tactic"]["before"] == {
        key: after[key] for key in rows[1]["tactic"]["before"]}
    assert (out / "report.png").stat().st_size > 0


def test_a_round_needs_the_previous_rounds_model_and_plan_needs_test_and_train_rows(
        corpus: Path, tmp_path: Path) -> None:
    from prover.expert.stages import StageOrderError

    rounds = TacticRounds(tmp_path / "run", LOOP, TRAIN)
    rounds.plan(corpus)
    with pytest.raises(StageOrderError, match="needs 'tactic_model'"):
        rounds.run_round(1, [])
    train_only = Dataset(tmp_path / "train_only")
    add_unit(train_only, TRAIN_UNIT, pairs_named(("n",)))
    with pytest.raises(InputError, match="no traced step of a standard-library test file"):
        TacticRounds(tmp_path / "a", LOOP, TRAIN).plan(train_only.path)
    test_only = Dataset(tmp_path / "test_only")
    add_unit(test_only, TEST_UNIT, pairs_named(("n",)))
    with pytest.raises(InputError, match="no traced step of a train file"):
        TacticRounds(tmp_path / "b", LOOP, TRAIN).plan(test_only.path)
    with pytest.raises(InputError, match="not a traced dataset"):
        TacticRounds(tmp_path / "c", LOOP, TRAIN).plan(tmp_path / "nowhere")


def test_bad_tactic_model_settings_are_clear_errors(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"tactic_model must be a preset \(cpu, gpu, tiny\) or a model "
                                          r"folder, got 'huge' \(no such folder\)"):
        RetrievalLoopConfig(tactic_model="huge")
    with pytest.raises(ConfigError, match=r"a folder with no config\.json"):
        RetrievalLoopConfig(tactic_model=str(tmp_path / "empty"))
    with pytest.raises(ConfigError) as error:
        RetrievalLoopConfig(tactic_model="tiny", tactic_heldout_pairs=0, tactic_k=0)
    assert error.value.keys == ("tactic_heldout_pairs", "tactic_k")
    with pytest.raises(ValueError, match="names no tactic model"):
        TacticRounds(tmp_path, RetrievalLoopConfig(), TRAIN)
    with pytest.raises(InputError, match=r"--train-max-length \(40\) must exceed --tactic-max-new-tokens"):
        TacticRounds(tmp_path, replace(LOOP, tactic_max_new_tokens=40),
                     TrainConfig(max_length=40))

    Dataset(tmp_path / "ds")
    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "retrieval", "--retrieval-corpus",
            str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    bad = ("--tactic-model", "huge", "--tactic-train-pairs", "0", "--train-max-seconds", "-1")
    assert main([*argv, *bad]) == 2
    err = " ".join(capsys.readouterr().err.split())
    for problem in ("retrieval_loop.tactic_model (--tactic-model) must be a preset (cpu, gpu, tiny) or a "
                    "model folder, got 'huge'",
                    "retrieval_loop.tactic_train_pairs (--tactic-train-pairs) must be >= 1, got 0",
                    "max_seconds (--train-max-seconds) must be in (0, 1000000.0], got -1"):
        assert problem in err
    assert not (tmp_path / "run").exists()


def test_the_tactic_settings_and_the_training_table_round_trip_through_a_config_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Dataset(tmp_path / "ds")
    argv = ["train", "coq_basic", "--backend", "coq", "--policy", "retrieval", "--retrieval-corpus",
            str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    assert main([*argv, "--tactic-model", "tiny", "--tactic-heldout-pairs", "50", "--train-max-seconds", "30",
                 "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "[train]" in text and "max_seconds = 30" in text
    assert 'tactic_model = "tiny"' in text and "tactic_heldout_pairs = 50" in text
    config = tmp_path / "run.toml"
    config.write_text(text)
    assert main(["train", "coq_basic", "--config", str(config), "--print-config"]) == 0
    assert capsys.readouterr().out == text


def test_round_0_leaves_out_train_pairs_on_a_held_out_state_and_says_how_many(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A train file can hold a test file's goal: trained on it, the model would be scored on a pair it
    learnt. Round 0 drops such pairs as later rounds drop added ones, and the plan and report count them."""
    from prover.expert.retrieval_report import CorpusRound, tactic_markdown, tactic_summary

    held = pairs_named(TEST_NAMES)[:2]
    dataset = Dataset(tmp_path / "ds")
    add_unit(dataset, TRAIN_UNIT, [*pairs_named(TRAIN_NAMES), held[0], (held[1][0], "auto")])
    add_unit(dataset, TEST_UNIT, pairs_named(TEST_NAMES))
    rounds = TacticRounds(tmp_path / "run", LOOP, TRAIN)
    plan = rounds.plan(dataset.path)
    assert rounds.round0 == pairs_named(TRAIN_NAMES)  # the twin and the other tactic at a held-out state
    assert plan["round0_heldout_state"] == 2 and plan["round0"]["pairs"] == 18 and plan["round0"]["of"] == 20
    written = json.loads((tmp_path / "run" / "tactic-model" / "plan.json").read_text())
    assert written["round0_heldout_state"] == 2
    monkeypatch.setattr(TacticRounds, "fitting", lambda self, pairs, model: pairs)
    pairs, counts = rounds.round_pairs(0, [], "unused")
    assert pairs == pairs_named(TRAIN_NAMES)
    assert counts == {"given": 20, "heldout_state": 2, "duplicate": 0, "too_long": 0, "trained": 18}
    metrics = {"perplexity": 2.0, "nll_per_tactic": 1.0, "top1": 0.5, "topk": 0.5, "evaluated": 4, "pairs": 4,
               "k": 2}
    marker = {"model": "tiny", "pairs": counts, "training": None, "before": metrics, "after": metrics}
    summary = tactic_summary(marker)
    assert summary["heldout_state"] == 2
    assert "| 0 | 18 of 20 (2 on held-out states left out) |" in "\n".join(
        tactic_markdown([CorpusRound(round=0, tactic=summary)]))
