"""A resume with a smaller ``--limit`` runs fewer theorems but hides no finished result: the folder keeps
reporting on (and recording) the largest ``--limit`` run there; results a report still cannot count (a
folder whose limit an older version lowered, rows gone from the benchmark) are named in every report,
with how to count them. Without Ray: the first run is stopped at its pool, and the resumes find nothing
to run."""

from __future__ import annotations

import html
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sweep_fixtures import scripted_spec, write_benchmark

from prover.sweep import ResultStore, SweepConfig, make_record, run_sweep
from prover.sweep import runner as sweep_runner
from prover.sweep.folder_report import report_from_folder
from search import SearchConfig

SPEC = scripted_spec(SearchConfig(max_expansions=5, time_limit=None))
NAMES = ("a", "b", "c", "d", "e")


def interrupted_after(finished: int, monkeypatch: pytest.MonkeyPatch):
    """A pool that records ``finished`` results (the first proved, the others unproved), then is stopped
    (Ctrl-C), as the audit's sweep was after 15 results."""
    def pool(queue: Any, store: ResultStore, *args: Any) -> tuple[None, int]:
        for index in range(finished):
            task = queue.popleft()
            store.append(make_record(task, "proved" if index == 0 else "unproved"))
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_runner, "_run_pool", pool)


def sweep(bench: Path, out: Path, limit: int | None, console: Console | None = None):
    return run_sweep(SweepConfig(out=str(out), limit=limit), SPEC, benchmark=str(bench), console=console)


def test_a_resume_with_a_smaller_limit_keeps_every_finished_result_in_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = write_benchmark(tmp_path / "b.jsonl", dict.fromkeys(NAMES, "provable"))
    out = tmp_path / "out"
    interrupted_after(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):  # the whole benchmark, stopped after 3 results
        sweep(bench, out, None)
    shown = io.StringIO()
    summary, paths = sweep(bench, out, 1, Console(file=shown, width=400))  # the first theorem has a result
    note = " ".join(shown.getvalue().split())
    assert "--limit 1 runs only the first 1 theorem(s); the report of" in note
    assert ("keeps covering all 5 theorem(s): the largest --limit run there, which its config.toml "
            "keeps") in note
    assert "earlier --limit" not in note  # the run before had none
    assert (summary.total, summary.proved, summary.pending) == (5, 1, 2)
    assert summary.uncounted is None
    # the folder still records (and --config OUT/config.toml resumes) the run over the whole benchmark
    assert json.loads((out / "sweep.json").read_text())["limit"] is None
    assert tomllib.loads((out / "config.toml").read_text())["sweep"]["limit"] == "none"
    summary, paths = report_from_folder(out)
    assert (summary.total, summary.proved, summary.pending) == (5, 1, 2)
    headline = "Proved 1 of 5 valid theorems (20.0%) (1 of the 3 finished: 33.3%)"
    assert headline in paths["markdown"].read_text()
    report = json.loads(paths["json"].read_text())
    assert report["total"] == 5 and report["uncounted"] is None


def test_a_larger_limit_is_recorded_and_a_smaller_one_is_not(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    bench = write_benchmark(tmp_path / "b.jsonl", dict.fromkeys(NAMES, "provable"))
    out = tmp_path / "out"
    interrupted_after(2, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        sweep(bench, out, 2)  # finishes both
    assert json.loads((out / "sweep.json").read_text())["limit"] == 2
    interrupted_after(1, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        sweep(bench, out, 4)
    assert json.loads((out / "sweep.json").read_text())["limit"] == 4
    summary, _ = sweep(bench, out, 3)  # all three have results: nothing to run
    assert summary.total == 4 and summary.pending == 1
    assert json.loads((out / "sweep.json").read_text())["limit"] == 4
    assert tomllib.loads((out / "config.toml").read_text())["sweep"]["limit"] == 4


def legacy_folder(tmp_path: Path, limit: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A folder as an older version left it: a sweep of the whole benchmark stopped after three results,
    its recorded limit then lowered to ``limit`` by a resume."""
    bench = write_benchmark(tmp_path / "b.jsonl", dict.fromkeys(NAMES, "provable"))
    out = tmp_path / "out"
    interrupted_after(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        sweep(bench, out, None)
    manifest = json.loads((out / "sweep.json").read_text())
    manifest["limit"] = manifest["config"]["sweep.limit"] = limit
    (out / "sweep.json").write_text(json.dumps(manifest))
    return bench, out


def test_the_report_names_results_past_the_folder_s_limit_and_how_to_count_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.main import main

    _, out = legacy_folder(tmp_path, 1, monkeypatch)
    assert main(["report", str(out)]) == 0
    sentence = ("Not counted in this report: results.jsonl also holds 2 result(s) of 2 theorem(s) past the "
                "folder's --limit 1: resume the sweep with --limit 3 (or without --limit) to count them.")
    assert sentence in " ".join(capsys.readouterr().err.split())  # on the console
    assert sentence in (out / "report.md").read_text()
    assert html.escape(sentence) in (out / "report.html").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["total"] == 1
    assert report["uncounted"] | {"message": None} == {
        "limit": 1, "past_limit": 2, "past_limit_results": 2, "limit_to_count": 3, "selected": 5,
        "absent": 0, "message": None}
    assert report["uncounted"]["message"] == sentence


def test_results_of_rows_gone_from_the_benchmark_are_named_too(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    bench, out = legacy_folder(tmp_path, 5, monkeypatch)
    rows = bench.read_text().splitlines()
    bench.write_text("\n".join(rows[1:]) + "\n")  # the row of `a`, which has a result, is gone
    summary, paths = report_from_folder(out)
    assert summary.uncounted is not None
    assert (summary.uncounted.absent, summary.uncounted.past_limit) == (1, 0)
    assert ("results.jsonl also holds results of 1 theorem(s) that the benchmark's split no longer holds "
            "(its file changed since): they cannot be counted.") in paths["markdown"].read_text()


def test_resuming_a_lowered_folder_says_what_it_leaves_out_and_a_larger_limit_counts_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench, out = legacy_folder(tmp_path, 1, monkeypatch)
    shown = io.StringIO()
    summary, _ = sweep(bench, out, 1, Console(file=shown, width=400))
    assert summary.total == 1 and summary.uncounted is not None and summary.uncounted.past_limit == 2
    assert ("results.jsonl also holds 2 result(s) of 2 theorem(s) past the folder's --limit 1: resume the "
            "sweep with --limit 3 (or without --limit) to count them") in " ".join(shown.getvalue().split())
    summary, paths = sweep(bench, out, 3)  # nothing to run: the three have results
    assert summary.total == 3 and summary.pending == 0 and summary.uncounted is None
    assert "Not counted" not in paths["markdown"].read_text()
