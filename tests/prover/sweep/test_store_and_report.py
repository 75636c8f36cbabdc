"""Durable results, resumption logic and the report, without Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sweep_fixtures import write_benchmark

from prover.sweep import (
    ResultStore,
    StoreLockedError,
    Task,
    load_benchmark,
    make_record,
    pending_tasks,
    read_records,
    resolve_benchmark,
    summarise,
    write_report,
)
from prover.sweep.folder_report import report_from_folder
from prover.sweep.runner import check_attempts, check_manifest, rerun_errors
from prover.theorem_input import InputError
from search import Theorem

T = Theorem("a", "theorem a : P :=")


def test_store_survives_a_torn_last_line(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store:
        store.append(make_record(Task(T, "test", 1), "unproved"))
    with (tmp_path / "results.jsonl").open("a") as fh:
        fh.write('{"theorem": "a", "att')  # what kill -9 in the middle of a write leaves
    with ResultStore(tmp_path) as store:
        assert len(store.records) == 1 and store.done() == {("a", 1)}
        store.append(make_record(Task(T, "test", 2), "proved"))
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["attempt"] for line in lines] == [1, 2]


def test_the_lock_free_reader_counts_a_last_record_that_lacks_only_its_newline(tmp_path: Path) -> None:
    """``prover report`` and the expert loop read what a resume would keep: a whole last record without
    its newline counts, a torn one does not."""
    first, second = (json.dumps(make_record(Task(T, "test", n), "proved")) for n in (1, 2))
    (tmp_path / "results.jsonl").write_text(first + "\n" + second)
    assert [r["attempt"] for r in read_records(tmp_path)] == [1, 2]
    with ResultStore(tmp_path) as store:
        assert len(store.records) == 2
    (tmp_path / "results.jsonl").write_text(first + "\n" + second[:-5])
    assert [r["attempt"] for r in read_records(tmp_path)] == [1]


def test_lines_that_are_no_result_record_are_skipped_not_fatal(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store:
        store.append(make_record(Task(T, "test", 1), "unproved"))
    with (tmp_path / "results.jsonl").open("a") as fh:
        fh.write('[1]\n5\nnull\n{"theorem": 3, "attempt": 1, "status": "proved"}\n{"theorem": "a"}\n')
    assert [r["attempt"] for r in read_records(tmp_path)] == [1]
    with ResultStore(tmp_path) as store:
        assert store.done() == {("a", 1)}


def test_one_writer_per_results_folder(tmp_path: Path) -> None:
    with ResultStore(tmp_path), pytest.raises(StoreLockedError, match="in use"):
        ResultStore(tmp_path)


def test_pending_tasks_resume_where_the_last_run_stopped(tmp_path: Path) -> None:
    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable", "c": "provable",
                                                    "d": "invalid"})
    items = load_benchmark(bench)
    records = [
        {"theorem": "a", "attempt": 1, "status": "proved"},
        {"theorem": "b", "attempt": 1, "status": "unproved"},
        {"theorem": "d", "attempt": 1, "status": "invalid"},
    ]
    assert [(t.theorem.name, t.attempt) for t in pending_tasks(items, records, attempts=2)] == [
        ("b", 2), ("c", 1)]
    assert [(t.theorem.name, t.attempt) for t in pending_tasks(items, records, attempts=1)] == [("c", 1)]


def test_attempts_that_ended_in_errors_run_again_and_count_once(tmp_path: Path) -> None:
    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable"})
    items = load_benchmark(bench)
    records = [
        {"theorem": "a", "attempt": 1, "status": "error", "message": "worker died 3 times"},
        {"theorem": "b", "attempt": 1, "status": "unproved"},
        {"theorem": "b", "attempt": 2, "status": "error", "message": "endpoint down"},
    ]
    assert [(t.theorem.name, t.attempt) for t in pending_tasks(items, records, attempts=2)] == [
        ("a", 1), ("b", 2)]
    assert [(t.theorem.name, t.attempt) for t in pending_tasks(items, records, attempts=1)] == [("a", 1)]
    # an error the old runner let a next attempt follow: the attempt without a verdict runs, once
    skipped = [{"theorem": "a", "attempt": 1, "status": "error"}, {"theorem": "a", "attempt": 2,
                                                                  "status": "unproved"}]
    queue = pending_tasks(items[:1], skipped, attempts=2)
    assert [(t.theorem.name, t.attempt) for t in queue] == [("a", 1)] and rerun_errors(queue, skipped) == 1
    assert rerun_errors(pending_tasks(items[:1], skipped[1:], attempts=2), skipped[1:]) == 0
    with pytest.raises(InputError, match="holds results of attempt 2, more than --attempts 1"):
        check_attempts(skipped, 1, tmp_path)  # fewer attempts would report proofs beyond the budget
    check_attempts(skipped, 2, tmp_path)
    rerun = [*records, {"theorem": "a", "attempt": 1, "status": "proved", "proof": ["fin"]}]
    a = next(t for t in summarise(items, rerun, attempts=2).theorems if t.name == "a")
    assert (a.status, a.attempts, a.proved_at) == ("proved", 1, 1)


def test_benchmark_errors_name_file_and_line(tmp_path: Path) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text('{"name": "x", "statement": "theorem x : P :="}\n{"name": "x", "statement": "s"}\n')
    with pytest.raises(InputError, match=r"b\.jsonl:2: theorem 'x' already on line 1"):
        load_benchmark(bench)
    with pytest.raises(InputError, match="no theorems in split 'test'"):
        load_benchmark(write_benchmark(tmp_path / "c.jsonl", {"y": "provable"}), "test")
    with pytest.raises(InputError, match="no benchmark 'nope'"):
        resolve_benchmark("nope")


def test_shared_benchmarks_load_with_their_splits() -> None:
    shared = Path(__file__).resolve().parents[4] / "shared" / "benchmarks"
    assert len(load_benchmark(shared / "minif2f.jsonl", "test")) == 244
    assert len(load_benchmark(shared / "proofnet.jsonl", "valid")) == 185


def test_manifest_refuses_mixing_settings(tmp_path: Path) -> None:
    check_manifest(tmp_path, {"benchmark": "b", "split": "test", "search": {"alpha": 2.0}, "backend": "x"})
    with pytest.raises(InputError, match=r"another configuration \(search: "):
        check_manifest(tmp_path, {"benchmark": "b", "split": "test", "search": {"alpha": 1.0},
                                  "backend": "x"})


def test_a_folder_from_before_a_search_setting_existed_resumes_under_its_default(tmp_path: Path) -> None:
    from dataclasses import asdict

    from search import SearchConfig

    current = asdict(SearchConfig())
    older = {k: v for k, v in current.items() if k != "priority"}  # written before priority existed
    check_manifest(tmp_path, {"benchmark": "b", "split": None, "search": older, "backend": "x"})
    check_manifest(tmp_path, {"benchmark": "b", "split": None, "search": current, "backend": "x"})
    with pytest.raises(InputError, match=r"another configuration \(search: "):
        check_manifest(tmp_path, {"benchmark": "b", "split": None, "backend": "x",
                                  "search": current | {"priority": "breadth-first"}})


def test_summary_and_report(tmp_path: Path) -> None:
    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable", "c": "provable",
                                                    "d": "invalid"})
    items = load_benchmark(bench)
    stats = {"expansions": 5}
    records = [
        {"theorem": "a", "attempt": 1, "status": "proved", "proof": ["x"], "stats": stats, "seconds": 1.0},
        {"theorem": "b", "attempt": 1, "status": "unproved", "stats": stats, "seconds": 2.0},
        {"theorem": "b", "attempt": 2, "status": "proved", "proof": ["y"], "stats": stats, "seconds": 2.0},
        {"theorem": "c", "attempt": 1, "status": "unproved", "stats": stats, "seconds": 1.0},
        {"theorem": "c", "attempt": 2, "status": "unproved", "stats": stats, "seconds": 1.0},
        {"theorem": "d", "attempt": 1, "status": "invalid", "message": "bad", "seconds": 0.1},
    ]
    summary = summarise(items, records, attempts=2)
    assert (summary.total, summary.proved, summary.invalid) == (4, 2, 1)
    assert summary.pass_at == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}
    b = next(t for t in summary.theorems if t.name == "b")
    assert (b.attempts, b.proved_at, b.expansions, b.seconds) == (2, 2, 10, 4.0)
    # write_benchmark alternates splits: a, c are valid; b, d are test
    assert summary.by_split["valid"] == {"total": 2, "valid": 2, "proved": 1, "pass_rate": 0.5}
    assert summary.by_split["test"]["pass_rate"] == 1.0
    paths = write_report(summary, tmp_path, "scripted")
    text = paths["markdown"].read_text()
    assert "| pass@1 | 33.3% |" in text and "| d | test | invalid |" in text
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"


def test_report_lists_plans_and_subgoal_outcomes(tmp_path: Path) -> None:
    items = load_benchmark(write_benchmark(tmp_path / "b.jsonl", {"a": "provable"}))
    planner = {"rounds": [{"round": 0, "failure": "subgoal 2 exhausted its budget",
                           "subgoals": [{"text": "have h1 : x = 1", "proved": True, "stop_reason": "proved",
                                         "expansions": 3},
                                        {"text": "have h2 : y = 2", "proved": False,
                                         "stop_reason": "exhausted", "expansions": 9}], "main": None}],
               "direct": {"proved": False, "stop_reason": "expansion_budget", "expansions": 20}}
    records = [{"theorem": "a", "attempt": 1, "status": "unproved", "stats": {"expansions": 12},
                "seconds": 1.0, "planner": planner}]
    text = write_report(summarise(items, records, attempts=1), tmp_path, "planned")["markdown"].read_text()
    assert "### Plans for a (unproved)" in text
    assert "- round 1: subgoal 2 exhausted its budget" in text
    assert "  - `have h2 : y = 2`: exhausted (9 expansions)" in text
    assert "- direct search after planning: expansion_budget (20 expansions)" in text


def test_prover_report_rewrites_the_report_of_a_sweep_in_progress(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.main import main
    from prover.sweep.runner import check_manifest

    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable", "c": "provable"})
    out = tmp_path / "out"
    with ResultStore(out) as store:  # a sweep holds the folder and has finished two attempts of three
        check_manifest(out, {"benchmark": str(bench.resolve()), "split": None, "attempts": 2, "limit": None})
        items = {item.theorem.name: item for item in load_benchmark(bench)}
        store.append(make_record(Task(items["a"].theorem, "valid", 1), "proved") | {"proof": ["fin"]})
        store.append(make_record(Task(items["b"].theorem, "valid", 1), "unproved"))
        with (out / "results.jsonl").open("a") as fh:
            fh.write('{"theorem": "c", "att')  # a record being written right now
        assert main(["report", str(out)]) == 0
    err = capsys.readouterr().err
    assert "proved 1 of 3 valid theorems" in err and "2 with attempts still to run" in err
    assert "proved 1 of the 1 finished: 100.0%" in " ".join(err.split())  # a stopped sweep's rate so far
    report = json.loads((out / "report.json").read_text())
    # b's second attempt has not run and c has no record: both pending, and no pass@k is final yet
    assert report["proved"] == 1 and report["pending"] == 2 and report["pass_at"] == {}
    text = (out / "report.md").read_text()
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith(("| b |", "| c |"))}
    assert "| pending |" in rows["| b"] and "| pending |" in rows["| c"]
    assert "2 theorem(s) have attempts still to run" in text
    assert "Proved 1 of 3 valid theorems (33.3%) (1 of the 1 finished: 100.0%);" in text
    assert (out / "results.jsonl").read_text().endswith('"att')  # read, never changed


def test_prover_report_on_a_folder_without_a_sweep_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.main import main

    assert main(["report", str(tmp_path)]) == 2
    assert "(no sweep.json) and no training run (no run.json): give the --out folder of a sweep" in \
        capsys.readouterr().err


def test_a_result_counts_only_for_the_statement_it_was_found_for(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A proof found for ``a`` as it was stated is not a proof of ``a`` after the benchmark file changed:
    the report leaves it out (and a resumed sweep attempts ``a`` again); the line stays in the file."""
    from prover.sweep.freshness import current_records, statement_digest

    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable"})
    out = tmp_path / "out"
    old = {item.theorem.name: item for item in load_benchmark(bench)}
    with ResultStore(out) as store:
        check_manifest(out, {"benchmark": str(bench.resolve()), "split": None, "attempts": 1, "limit": None})
        for name in ("a", "b"):
            store.append(make_record(Task(old[name].theorem, "valid", 1), "proved") | {"proof": ["fin"]})
    assert report_from_folder(out)[0].proved == 2
    rows = [json.loads(line) for line in bench.read_text().splitlines()]
    rows[0]["statement"] += " "  # one byte of `a` changed
    bench.write_text("".join(json.dumps(row) + "\n" for row in rows))
    new = load_benchmark(bench)
    summary, _ = report_from_folder(out)
    assert summary.proved == 1 and summary.pending == 1
    assert "another header or statement" in capsys.readouterr().err
    kept = current_records([item.theorem for item in new], read_records(out), "out")
    assert [r["theorem"] for r in kept] == ["b"]
    queue = pending_tasks(new, kept, attempts=1)
    assert [task.theorem.name for task in queue] == ["a"]
    assert len(read_records(out)) == 2  # nothing lost
    # records from before digests: a claim of no proof counts; a proof never does (its text cannot tell
    # which statement it was checked against: here a comment holds the current one)
    theorems = [item.theorem for item in new]
    b = new[1].theorem
    legacy = [{"theorem": "b", "attempt": 1, "status": "unproved"},
              {"theorem": "b", "attempt": 1, "status": "proved",
               "proof_text": f"(* {b.header} {b.statement} *)\nTheorem b : True.\nProof. exact I. Qed.\n"},
              {"theorem": "b", "attempt": 1, "status": "proved"}]
    assert current_records(theorems, legacy, "out") == legacy[:1]
    assert statement_digest(new[1].theorem) == kept[0]["statement_digest"]


@pytest.mark.parametrize("content", ["garbage", "[1]", "{}", None,
                                     '{"benchmark": "b.jsonl", "attempts": "2"}',
                                     '{"benchmark": "b.jsonl", "limit": 2.5}', '{"benchmark": 7}'])
def test_a_damaged_sweep_manifest_is_a_clear_error(tmp_path: Path, content: str | None) -> None:
    out = tmp_path / "out"
    out.mkdir()
    if content is None:
        (out / "sweep.json").mkdir()  # a folder where the file should be
    else:
        (out / "sweep.json").write_text(content)
    with pytest.raises(InputError, match=r"sweep\.json .*damaged"):
        report_from_folder(out)
    with pytest.raises(InputError, match=r"sweep\.json .*damaged"):
        check_manifest(out, {"benchmark": "b.jsonl", "split": None})


def test_the_markdown_report_shows_names_and_messages_literally(tmp_path: Path) -> None:
    items = load_benchmark(write_benchmark(tmp_path / "b.jsonl", {"a": "provable"}))
    odd = Theorem("a", items[0].theorem.statement, items[0].theorem.header)
    records = [make_record(Task(odd, "valid", 1), "invalid", message="bad <b>|</b> statement")]
    text = write_report(summarise(items, records, attempts=1), tmp_path, "odd")["markdown"].read_text()
    assert "bad &lt;b&gt;\\|&lt;/b&gt; statement" in text and "<b>" not in text


def test_the_report_says_why_an_unproved_theorem_stopped(tmp_path: Path) -> None:
    """'unproved' alone does not tell a search that gave up in a second from one that ran out of time."""
    bench = write_benchmark(tmp_path / "b.jsonl", {"a": "provable", "b": "provable"})
    items = {item.theorem.name: item for item in load_benchmark(bench)}
    records = [make_record(Task(items["a"].theorem, "valid", 1), "unproved") | {"stop_reason": "exhausted"},
               make_record(Task(items["b"].theorem, "valid", 1), "unproved") | {"stop_reason": "time_budget"}]
    paths = write_report(summarise(list(items.values()), records, 1), tmp_path / "out", "b")
    lines = paths["markdown"].read_text().splitlines()
    rows = [line for line in lines if line.startswith(("| a |", "| b |"))]
    assert rows[0].startswith(f"| a | {items['a'].split} | unproved (exhausted) |")
    assert rows[1].startswith(f"| b | {items['b'].split} | unproved (time_budget) |")
