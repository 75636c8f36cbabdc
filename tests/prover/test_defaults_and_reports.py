"""Defaults that fit the backend, benchmark listing and errors, and what a sweep's report keeps."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from sweep_fixtures import write_benchmark

from prover.cli.main import build_parser, main
from prover.cli.spec import policy_spec
from prover.sweep import Task, make_record
from prover.sweep.folder_report import report_from_folder
from prover.sweep.report import SweepSummary, TheoremOutcome, budget_figure, budget_of
from prover.sweep.shared_cache import JOURNAL, JournaledProofCache
from search import SearchConfig, Theorem

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def _args(*argv: str):
    return build_parser().parse_args(list(argv))


def test_coq_without_policy_uses_the_coq_tactic_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_spec(_args("prove", "--backend", "coq", "x"), "coq").kind == "tactics"
    assert policy_spec(_args("prove", "--backend", "repl", "x"), "lean").kind == "model"
    code = main(["prove", "--backend", "coq", "--json", "Theorem t : forall n : nat, n + 0 = n."])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["proved"]
    assert "policy: the built-in Coq tactic list (the default for this backend" in captured.err
    assert "BFS-Prover" not in captured.err  # no model was looked for


def test_a_lean_model_asked_for_coq_is_named(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="prover.cli.spec"):
        spec = policy_spec(_args("prove", "--backend", "coq", "--policy", "model", "x"), "coq")
    assert spec.kind == "model" and "a Lean step prover" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="prover.cli.spec"):
        spec = policy_spec(_args("prove", "--backend", "coq", "--policy", "openai", "x"), "coq")
    assert spec.kind == "openai" and "a Lean step prover" in caplog.text and "--openai-model" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="prover.cli.spec"):
        policy_spec(_args("prove", "--backend", "coq", "--policy", "openai", "--openai-model", "sp", "x"),
                    "coq")
    assert caplog.text == ""


def test_prove_has_a_short_default_budget_sweeps_keep_bfs_provers() -> None:
    assert _args("prove", "x").time_limit == 120.0
    assert _args("sweep", "coq_basic").time_limit == 600.0
    prove_help = next(a for a in build_parser()._subparsers._group_actions[0].choices["prove"]._actions
                      if "--time-limit" in a.option_strings).help
    assert "120 for one theorem" in prove_help


def test_a_wrong_split_lists_the_splits(capsys: pytest.CaptureFixture[str]) -> None:
    bench = SHARED / "minif2f_rocq_valid.jsonl"
    assert main(["sweep", str(bench), "--split", "test", "--backend", "coq"]) == 2
    assert "no theorems in split 'test'; its splits are valid (244)" in capsys.readouterr().err


def test_a_broken_line_is_the_same_error_for_prove_and_sweep(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"name": "t1", "split": "test", "statement": "Theorem t1 : True."}) + "\n"
                     + '{"name": "t2", "statement": \n', encoding="utf-8")
    assert main(["prove", "--backend", "coq", "--file", str(bench), "--name", "t1"]) == 2
    prove_err = capsys.readouterr().err
    assert main(["sweep", str(bench), "--backend", "coq", "--out", str(tmp_path / "out")]) == 2
    sweep_err = capsys.readouterr().err
    assert f"{bench}:2: not valid JSON" in prove_err and f"{bench}:2: not valid JSON" in sweep_err
    assert not (tmp_path / "out").exists()  # nothing started


@pytest.mark.parametrize(("rows", "problem"), [
    ([{"name": "t1", "statement": "Theorem t1 : True."}, {"name": "t1", "statement": "Theorem t1 : True."}],
     "theorem 't1' already on line 1"),
    ([{"name": "t1", "statement": "Theorem t1 : True."}, {"name": "t2"}], ":2: the row lacks statement"),
])
def test_prove_file_refuses_what_a_sweep_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 rows: list[dict], problem: str) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert main(["prove", "--backend", "coq", "--file", str(bench), "--name", "t1"]) == 2
    prove_err = capsys.readouterr().err
    assert main(["sweep", str(bench), "--backend", "coq", "--out", str(tmp_path / "out")]) == 2
    assert problem in prove_err and problem in capsys.readouterr().err


def test_prove_file_quotes_why_its_benchmark_marks_a_row_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    bench = SHARED / "minif2f_rocq_valid.jsonl"
    row = next(json.loads(line) for line in bench.read_text().splitlines() if '"coq_8_16"' in line)
    assert main(["prove", "--backend", "coq", "--file", str(bench), "--name", row["name"]]) == 2
    assert "marked as not elaborating" in capsys.readouterr().err


def test_benchmarks_lists_names_splits_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rocq = tmp_path / "miniF2F-rocq"
    for split, names in (("valid", ["a", "b"]), ("test", ["c"])):
        (rocq / split).mkdir(parents=True)
        for name in names:
            (rocq / split / f"{name}.v").write_text(f"Theorem {name} : True.\nProof. Admitted.\n")
    assert main(["benchmarks", "--json", str(SHARED), str(tmp_path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {row["name"] or Path(row["path"]).name: row for row in rows}
    assert by_name["coq_basic"]["rows"] == 83 and set(by_name["coq_basic"]["splits"]) == {"test", "valid"}
    shipped = [json.loads(line) for line in (SHARED / "minif2f.jsonl").read_text().splitlines() if line]
    assert by_name["minif2f.jsonl"]["splits"] == {
        split: sum(r["split"] == split for r in shipped) for split in ("test", "valid")}
    assert by_name["minif2f_rocq_valid.jsonl"]["invalid"] > 0  # rows known not to elaborate in Coq 8.16
    assert by_name["miniF2F-rocq"]["splits"] == {"test": 1, "valid": 2}
    assert {name: by_name[name]["assistant"] for name in ("coq_basic", "minif2f.jsonl", "miniF2F-rocq",
                                                         "minif2f_rocq_valid.jsonl")} == {
        "coq_basic": "coq", "minif2f.jsonl": "lean", "miniF2F-rocq": "coq", "minif2f_rocq_valid.jsonl": "coq"}
    assert main(["benchmarks", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_prover_report_keeps_the_cache_statistics(tmp_path: Path) -> None:
    names = {"p0": "provable", "p1": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    out.mkdir()
    search = SearchConfig(max_expansions=20, time_limit=None)
    manifest = {"benchmark": str(bench), "split": None, "search": dataclasses.asdict(search),
                "backend": "scripted", "planner": None, "attempts": 1, "limit": None}
    (out / "sweep.json").write_text(json.dumps(manifest, default=str))
    record = make_record(Task(Theorem("p0", "theorem p0 : P :="), "valid", 1), "proved")
    record["stats"] = {"expansions": 3, "cache_hits": 2, "cache_skips": 1}
    (out / "results.jsonl").write_text(json.dumps(record) + "\n")
    journal = JournaledProofCache(str(out / JOURNAL))  # as the sweep's cache actor leaves it
    journal.publish_proof("goal-a", ("step", "fin"))
    journal.publish_proof("goal-b", ("fin",))
    summary, paths = report_from_folder(out)
    assert summary.cache is not None
    assert (summary.cache["proofs"], summary.cache["search_hits"], summary.cache["search_skips"]) == (2, 2, 1)
    assert json.loads(paths["json"].read_text())["cache"]["proofs"] == 2
    assert "Shared proof cache" in paths["markdown"].read_text()


def test_the_plot_runs_to_the_budget_and_marks_the_total() -> None:
    theorems = [TheoremOutcome("a", "test", "proved", 1, 1, 3, 2.0),
                TheoremOutcome("b", "test", "proved", 1, 1, 7, 5.0),
                TheoremOutcome("c", "test", "unproved", 2, None, 40, 30.0)]
    summary = SweepSummary(total=4, proved=2, invalid=1, errors=0, pending=0, theorems=theorems,
                           budget=budget_of({"max_expansions": 25, "time_limit": None}, 2))
    assert summary.budget == {"attempts": 2, "expansions": 50, "seconds": None}
    figure = budget_figure(summary, "bench")
    expansions, seconds = figure.axes
    assert expansions.get_xlim()[1] >= 50 and seconds.get_xlim()[1] >= 30.0  # budget, else the most used
    for axis in (expansions, seconds):
        flat = [line for line in axis.get_lines() if list(line.get_ydata()) == [3, 3]]
        assert flat, "the number of valid theorems is marked"
        curve = axis.get_lines()[0]
        assert curve.get_xdata()[-1] == axis.get_xlim()[1] / 1.02 and curve.get_ydata()[-1] == 2
    assert any(list(line.get_xdata()) == [50, 50] for line in expansions.get_lines())  # the budget line
    import matplotlib.pyplot as plt

    plt.close(figure)
    one_step = SweepSummary(total=1, proved=1, invalid=0, errors=0, pending=0,
                            theorems=[TheoremOutcome("a", "test", "proved", 1, 1, 1, 0.5)],
                            budget=budget_of({"max_expansions": None, "time_limit": 60.0}, 1))
    figure = budget_figure(one_step, "bench")
    figure.canvas.draw()
    ticks = figure.axes[0].get_xticks()
    assert all(float(tick).is_integer() for tick in ticks), ticks  # no 0.2, 0.4 ... expansions
    plt.close(figure)


def test_sessions_with_a_planner_are_said_to_have_no_effect(caplog: pytest.LogCaptureFixture) -> None:
    from prover.cli.spec import run_spec

    with caplog.at_level(logging.WARNING, logger="prover.cli.spec"):
        spec = run_spec(_args("prove", "--backend", "coq", "--planner", "--sessions", "2", "x"))
    assert spec.planner is not None and "--sessions 2 has no effect with --planner" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="prover.cli.spec"):
        run_spec(_args("prove", "--backend", "coq", "--sessions", "2", "x"))
    assert caplog.text == ""


def test_report_md_shows_untrusted_names_splits_and_plans_as_text() -> None:
    """A benchmark's names and splits and a model's subgoals are text in report.md: no link, image,
    heading, or line break of a table row (rendered as CommonMark with tables)."""
    from markdown_it import MarkdownIt

    from prover.sweep.report import markdown

    payloads = ["x](javascript:alert(1)) ![t](http://127.0.0.1:9/track.png) [y",
                "a\r# INJECTED\r[click](https://evil.example/)", "b\u2028[c](https://evil.example/)"]
    plan = {"rounds": [{"round": 0, "failure": "[f](https://evil.example/)", "subgoals": [
        {"text": "have h : x` <img src=x onerror=alert(1)> `y", "proved": False, "stop_reason": "exhausted",
         "expansions": 2}]}]}
    theorems = [TheoremOutcome(name, "[s](https://evil.example/) <b>", "invalid", message=name)
                for name in payloads] + [TheoremOutcome("t", "test", "unproved", planner=plan)]
    summary = SweepSummary(total=4, proved=0, invalid=3, errors=0, pending=0, theorems=theorems,
                           by_split={"[s](https://evil.example/)": {"total": 1, "valid": 0, "proved": 0,
                                                                     "pass_rate": 0.0}})
    text = markdown(summary, "bench", "plot.png")
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<a ") == 0 and html.count("<img") == 1  # the plot alone
    assert "<h1>INJECTED" not in html and "<b>" not in html and "onerror" not in html.replace(
        "onerror=alert(1)&gt;", "")
    (row,) = [line for line in text.splitlines() if line.startswith("| a") and "INJECTED" in line]
    assert row.endswith("| invalid | 0 | 0 | 0.0 |")  # the name stayed in its cell, on its row


def test_the_policy_line_says_whether_retrieval_mixes_in_the_tactic_list() -> None:
    """Retrieval alone proves less than mixed with the list (BENCHMARKS.md): the line says which it is."""
    from prover.cli.spec import describe_policy
    from prover.policies.spec import PolicySpec
    from prover.retrieval import RetrievalConfig

    alone = PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(corpus="data/stdlib"))
    mixed = PolicySpec("retrieval", "coq",
                       retrieval=RetrievalConfig(corpus="data/stdlib", tactic_list_weight=0.7))
    assert describe_policy(alone, chosen=True) == (
        "policy: retrieval over data/stdlib alone (--retrieval-tactic-list-weight 0.7 mixes in the tactic "
        "list, as the benchmarks do)")
    assert describe_policy(mixed, chosen=True) == (
        "policy: retrieval over data/stdlib mixed with the tactic list at 0.7")
