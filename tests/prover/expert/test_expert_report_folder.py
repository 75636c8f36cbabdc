"""`prover report RUN_DIR` on a run folder of the model expert-iteration loop: the per-round report (solved,
pairs and kept, training loss, the evaluation sweep) written again from the stages' markers, with its plot,
while the run goes on or after it stopped; a retrieval run or a sweep keeps its own report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from expert_fixtures import ADD, FORALL, INTRO

from prover.cli.main import main
from prover.expert.loop import check_run, collect_stage
from prover.expert.report import is_model_run, write_folder_report
from prover.expert.stages import round_dir, run_stage

BASE = "/models/base"


def step(state: str, tactic: str, failed: tuple[tuple[str, str], ...] = ()) -> dict:
    return {"state": state, "tactic": tactic, "logprob": -0.2, "depth": 0,
            "failed": [list(f) for f in failed]}


def proved(theorem: str, policy: str, *steps: dict) -> dict:
    return {"theorem": theorem, "split": "test", "attempt": 1, "status": "proved", "policy": policy,
            "trajectory": list(steps), "proof": [s["tactic"] for s in steps]}


def sweep_round(out: Path, number: int, policy: str, records: list[dict], *, evaluation: bool | None) -> Path:
    """Round ``number``'s sweep results and its marker as ``loop.sweep_stage`` writes them (``evaluation``
    None: a marker of a loop that did not record it)."""
    folder = round_dir(out, number)
    sweep = folder / "sweep"
    sweep.mkdir(parents=True)
    (sweep / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    summary = {"policy": policy, "folder": str(sweep), "theorems": 4, "valid": 4,
               "proved": sum(r["status"] == "proved" for r in records),
               "pass_rate": sum(r["status"] == "proved" for r in records) / 4, "errors": 0, "pending": 0,
               "report": str(sweep / "report.md")}
    marker = summary if evaluation is None else summary | {"evaluation": evaluation}
    run_stage(folder, "sweep", lambda: marker)
    return folder


def finish_round(out: Path, number: int, *, kept: int, loss: float) -> None:
    """The round's collect (the loop's own stage), filter and train markers."""
    folder = round_dir(out, number)
    run_stage(folder, "collect", lambda: collect_stage(folder, number))
    run_stage(folder, "filter", lambda: {"model": BASE, "pairs": 3, "kept": kept,
                                         "dropped": {"easy": 3 - kept, "noisy": 0, "too_long": 0},
                                         "easy_perplexity": 1.05, "noisy_perplexity": 9.5,
                                         "preferences_kept": 1})
    run_stage(folder, "train", lambda: {"mode": "continue", "init_model": BASE, "pairs": kept,
                                        "preferences": 1, "train_loss": loss, "steps": 4,
                                        "model": str(folder / "model")})


def model_run(out: Path, bench: Path, *, evaluation: bool | None = True) -> Path:
    """Two finished rounds and the final model's evaluation sweep."""
    check_run(out, {"benchmark": str(bench.resolve()), "base_model": BASE, "backend": "repl",
                    "first_policy": BASE})
    sweep_round(out, 1, BASE, [proved("add", BASE, step(ADD, "simp", (("omega", "failed"),))),
                               proved("forall", BASE, step(FORALL, "intro n"), step(INTRO, "omega")),
                               {"theorem": "conj", "split": "test", "attempt": 1, "status": "unproved",
                                "policy": BASE, "trajectory": None, "proof": None}], evaluation=False)
    finish_round(out, 1, kept=2, loss=1.25)
    model_1 = str(round_dir(out, 1) / "model")
    sweep_round(out, 2, model_1, [proved("add", model_1, step(ADD, "rfl"))], evaluation=False)
    finish_round(out, 2, kept=1, loss=0.5)
    model_2 = str(round_dir(out, 2) / "model")
    sweep_round(out, 3, model_2, [proved("add", model_2, step(ADD, "rfl")),
                                  proved("le", model_2, step("a b : ℕ\nh : a ≤ b\n⊢ a ≤ b + 1", "omega"))],
                evaluation=evaluation)
    return out


def test_report_rewrites_a_model_runs_report_from_its_rounds(scripted_bench: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = model_run(tmp_path / "run", scripted_bench)
    assert is_model_run(out) and not (out / "report.md").exists()
    assert main(["report", str(out)]) == 0
    rounds = json.loads((out / "report.json").read_text())["rounds"]
    fields = ("round", "evaluation", "proved", "pairs", "kept", "train_loss")
    table = [tuple(r[name] for name in fields) for r in rounds]
    assert table == [(1, False, 2, 3, 2, 1.25), (2, False, 1, 1, 1, 0.5), (3, True, 2, None, None, None)]
    assert rounds[0]["dropped"] == {"easy": 1, "noisy": 0, "too_long": 0} and rounds[0]["preferences"] == 1
    text = (out / "report.md").read_text()
    assert "# Expert iteration: bench" in text and "| 3 (evaluation) | round-02/model | 2/4 | 50.0% |" in text
    assert "| 1 | base | 2/4 | 50.0% | 3 (0) | 1 | 2 | 1/0/0 |" in text and "| 1.2500 |" in text
    assert (out / "report.png").stat().st_size > 1000
    shown = " ".join(capsys.readouterr().err.split())
    assert "expert iteration" in shown and "3 (eval)" in shown and "0.5000" in shown


def test_a_round_in_progress_is_no_evaluation_and_a_rerun_with_more_rounds_ends_it(
        scripted_bench: Path, tmp_path: Path) -> None:
    out = model_run(tmp_path / "run", scripted_bench, evaluation=False)  # round 3 swept, then stopped
    report = write_folder_report(out)
    assert [(m.round, m.evaluation) for m in report.rounds] == [(1, False), (2, False), (3, False)]
    assert "| 3 | round-02/model | 2/4 |" in report.paths["markdown"].read_text()
    marked = model_run(tmp_path / "marked", scripted_bench)
    run_stage(round_dir(marked, 3), "collect", lambda: collect_stage(round_dir(marked, 3), 3))  # rounds=3 now
    rounds = write_folder_report(marked).rounds
    assert not rounds[2].evaluation and rounds[2].pairs == 2


def test_a_folder_of_an_older_loop_keeps_the_evaluation_its_report_named(scripted_bench: Path,
                                                                         tmp_path: Path) -> None:
    out = model_run(tmp_path / "run", scripted_bench, evaluation=None)  # no flag in the sweep's marker
    assert not write_folder_report(out).rounds[2].evaluation  # nothing says so
    written = json.loads((out / "report.json").read_text())
    written["rounds"][2]["evaluation"] = True  # as the loop's own report said
    (out / "report.json").write_text(json.dumps(written))
    assert write_folder_report(out).rounds[2].evaluation
    assert write_folder_report(out).rounds[2].evaluation  # and it stays so once rewritten


def test_other_folders_are_not_model_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "retrieval").mkdir()
    (tmp_path / "retrieval" / "run.json").write_text(json.dumps({"loop": "retrieval", "base_model": None}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    assert not any(is_model_run(tmp_path / name) for name in ("retrieval", "broken", "missing"))
    assert main(["report", str(tmp_path / "broken")]) == 2  # neither a run nor a sweep: a clear error
    assert "holds no sweep" in capsys.readouterr().err
