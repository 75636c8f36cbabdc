"""Start-up faults in sweeps: a proof assistant that cannot start is one clear error (exit 3) up front, as
in ``prove``; an error raised in a worker reaches the driver as itself; a coqtop that dies while starting
costs no theorem its result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_fixtures import FatalForOne, UnavailableBackendFactory, flaky_coqtop, slow_policy, start_counts
from sweep_fixtures import BackendFactory, policy_factory, scripted_spec, write_benchmark

from prover.cli.main import main
from prover.sweep import SweepConfig, run_sweep
from search import BackendUnavailableError, PriorityError, SearchConfig

MISSING = "coqtop not found ('/nonexistent/coqtop')"


def test_a_sweep_whose_coqtop_does_not_exist_exits_3_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
                 "--limit", "4", "--coq-coqtop", "/nonexistent/coqtop", "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 3
    assert MISSING in err and "apt-get install coq" in err
    assert "Traceback" not in err
    assert not out.exists()  # no worker started, no results folder, no error records


def test_prove_with_a_coqtop_that_does_not_exist_gives_the_same_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--coq-coqtop", "/nonexistent/coqtop",
                 "Theorem t : True."])
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 3 and MISSING in err and "Traceback" not in err


def test_a_sweep_whose_coqtop_always_dies_at_start_exits_3_after_the_retries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coqtop = flaky_coqtop(tmp_path / "bin", die_percent=100)
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
                 "--limit", "2", "--coq-coqtop", str(coqtop), "--coq-start-attempts", "3",
                 "--coq-start-backoff", "0.01", "--out", str(tmp_path / "out")])
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 3 and "coqtop died at start" in err and "Traceback" not in err
    assert start_counts(tmp_path / "bin") == (3, 0)


@pytest.mark.slow
def test_a_worker_whose_backend_cannot_start_stops_the_sweep_with_that_error(
        ray_cluster, tmp_path: Path) -> None:
    names = {f"p{i}": "provable" for i in range(4)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    with pytest.raises(BackendUnavailableError) as caught:
        run_sweep(SweepConfig(workers=2, out=str(tmp_path / "out")), benchmark=str(bench),
                  backend_factory=UnavailableBackendFactory(), policy_factory=policy_factory,
                  spec=scripted_spec(SearchConfig(max_expansions=5, time_limit=None)))
    assert caught.value.backend == "coq" and caught.value.reason == MISSING
    assert not (tmp_path / "out" / "results.jsonl").read_text()  # no theorem was marked as failed


@pytest.mark.slow
def test_a_sweep_survives_a_coqtop_that_dies_at_every_other_start(
        ray_cluster, tmp_path: Path) -> None:
    coqtop = flaky_coqtop(tmp_path / "bin", die_on=range(1, 200, 2))
    out = tmp_path / "out"
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
                 "--limit", "4", "--workers", "1", "--max-expansions", "16", "--tactic-timeout", "2",
                 "--coq-coqtop", str(coqtop), "--coq-start-backoff", "0.01", "--out", str(out)])
    assert code == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["theorem"] for r in records) == sorted({r["theorem"] for r in records})
    assert len(records) == 4 and not [r for r in records if r["status"] == "error"]
    assert sum(r["status"] == "proved" for r in records) >= 3
    died, ran = start_counts(tmp_path / "bin")
    # every other start dies: the check up front, the worker's coqtop (one per header, reused by its four
    # theorems) and the persistent audit coqtop each died once and were started again
    assert died >= 3 and ran >= died


def test_prove_with_a_priority_function_that_raises_is_an_input_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--priority",
                 "fault_fixtures:failing_priority", "Theorem t : forall n : nat, n + 0 = n."])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Traceback" not in err
    assert "priority function failing_priority raised KeyError: 'no value for this state'" in err


@pytest.mark.slow
def test_a_priority_function_that_raises_stops_the_sweep_with_that_error(ray_cluster, tmp_path: Path) -> None:
    names = {f"p{i}": "provable" for i in range(3)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    config = SearchConfig(max_expansions=5, time_limit=None, priority="fault_fixtures:failing_priority")
    with pytest.raises(PriorityError, match="failing_priority raised KeyError"):
        run_sweep(SweepConfig(workers=1, out=str(tmp_path / "out")), benchmark=str(bench),
                  backend_factory=BackendFactory(names), policy_factory=policy_factory,
                  spec=scripted_spec(config))
    assert not (tmp_path / "out" / "results.jsonl").read_text()  # no theorem was marked as failed



@pytest.mark.slow
def test_a_fatal_error_keeps_the_attempts_other_workers_finished(ray_cluster, tmp_path: Path) -> None:
    names = {"fatal": "provable", "p1": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    with pytest.raises(BackendUnavailableError):
        run_sweep(SweepConfig(workers=2, out=str(tmp_path / "out"), graph_pages=False), benchmark=str(bench),
                  backend_factory=FatalForOne(names), policy_factory=slow_policy,
                  spec=scripted_spec(SearchConfig(max_expansions=20, time_limit=None)))
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["theorem"], r["status"]) for r in records] == [("p1", "proved")]
