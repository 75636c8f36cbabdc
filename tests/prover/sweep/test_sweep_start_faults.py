"""Start-up faults in sweeps: a proof assistant that cannot start is one clear error (exit 3) up front, as
in ``prove``; an error raised in a worker reaches the driver as itself; a coqtop that dies while starting
costs no theorem its result; one that dies (or runs past its start-up limit) loading one theorem costs that
theorem an ``error`` record, run again on a resume, never the sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_fixtures import (
    UnavailableBackendFactory,
    dying_coqtop,
    fatal_for_one,
    flaky_coqtop,
    load_deaths,
    load_fails_for_one,
    slow_policy,
    start_counts,
)
from scripted import THEOREM, ScriptedBackend
from sweep_fixtures import BackendFactory, policy_factory, provable, scripted_spec, write_benchmark

from prover.backend_check import check_backend_starts
from prover.cli.main import main
from prover.sweep import SearchWorker, SweepConfig, Task, run_sweep
from prover.sweep.worker import WorkerSetup
from prover.theorem_input import InputError
from search import BackendUnavailableError, PriorityError, SearchConfig
from search.backends.coq import CoqBackend, CoqBackendConfig
from search.errors import TheoremLoadError

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
                  backend_factory=fatal_for_one(names), policy_factory=slow_policy,
                  spec=scripted_spec(SearchConfig(max_expansions=20, time_limit=None)))
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["theorem"], r["status"]) for r in records] == [("p1", "proved")]


def records_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_a_worker_records_a_theorem_its_backend_cannot_load_as_an_error() -> None:
    class Unloadable(ScriptedBackend):
        def open(self, theorem):  # type: ignore[no-untyped-def]
            raise TheoremLoadError("coq", theorem.name, "coqtop died loading the header: killed")

    setup = WorkerSetup.of(scripted_spec(SearchConfig(max_expansions=5, time_limit=None)),
                           backend=lambda: Unloadable(provable(1)), policy=policy_factory)
    record = SearchWorker(setup).run(Task(THEOREM, "test", 1))
    assert record["status"] == "error"  # no verdict: a resume runs it again
    assert record["message"] == (f"backend 'coq' could not load theorem '{THEOREM.name}': coqtop died "
                                 "loading the header: killed")


def test_a_theorem_the_backend_cannot_load_is_an_error_and_the_sweep_goes_on(
        ray_cluster, tmp_path: Path) -> None:
    names = {"p0": "provable", "bad": "provable", "p1": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    config = SweepConfig(workers=1, out=str(out), graph_pages=False)
    spec = scripted_spec(SearchConfig(max_expansions=20, time_limit=None))
    summary, _ = run_sweep(config, benchmark=str(bench), backend_factory=load_fails_for_one(names),
                           policy_factory=policy_factory, spec=spec)
    status = {r["theorem"]: r["status"] for r in records_of(out)}
    assert status == {"p0": "proved", "bad": "error", "p1": "proved"}
    assert summary.proved == 2
    run_sweep(config, benchmark=str(bench), backend_factory=load_fails_for_one(names),
              policy_factory=policy_factory, spec=spec)  # the resume runs it again, and goes on
    assert [(r["theorem"], r["status"]) for r in records_of(out)][3:] == [("bad", "error")]


@pytest.mark.slow
def test_a_sweep_goes_on_past_a_theorem_whose_coqtop_dies_loading_its_header(
        ray_cluster, tmp_path: Path) -> None:
    rows = [{"name": name, "split": "test", "header": header, "statement": f"Theorem {name} : 1 + 1 = 2."}
            for name, header in [("p0", "Require Import Arith."),
                                 ("bad", "Require Import Arith.\nDefinition die_here := 0."),
                                 ("p1", "Require Import Arith.")]]
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in rows))
    coqtop = dying_coqtop(tmp_path / "bin", "die_here")
    out = tmp_path / "out"
    argv = ["sweep", str(bench), "--backend", "coq", "--policy", "tactics", "--workers", "1",
            "--max-expansions", "8", "--coq-coqtop", str(coqtop), "--coq-start-attempts", "2",
            "--coq-start-backoff", "0.01", "--no-graph-pages", "--out", str(out)]
    assert main(argv) == 0  # it was exit 3, the sweep's end, and every resume ended on it again
    status = {r["theorem"]: (r["status"], r["message"]) for r in records_of(out)}
    assert status["p0"][0] == status["p1"][0] == "proved"
    assert status["bad"][0] == "error" and "could not load theorem 'bad': coqtop died loading the header" in (
        status["bad"][1])
    assert load_deaths(tmp_path / "bin") == 2
    assert main(argv) == 0  # the resume runs it again (an error is no verdict) and goes on
    assert [(r["theorem"], r["status"]) for r in records_of(out)][3:] == [("bad", "error")]


def test_prove_with_a_statement_that_outlasts_the_start_limit_is_exit_3_naming_the_option(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--coq-start-timeout", "0.5",
                 "Theorem t : ltac:(do 3000000 idtac; exact (1 = 1 :> bool))."])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3 and "Traceback" not in err  # no bad input: the machine was too slow for the limit
    assert "raise start_timeout (--coq-start-timeout)" in err


def probe_failure(config: CoqBackendConfig) -> BaseException:
    with pytest.raises((BackendUnavailableError, InputError)) as caught:
        check_backend_starts("coq", lambda: CoqBackend(config))
    assert "prover_probe" not in str(caught.value)  # no theorem of the user's
    return caught.value


def test_the_up_front_check_names_the_start_timeout_when_coqtop_loads_too_slowly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from search.backends.coq import launch
    from search.backends.process import ProcessTimeout

    def slow_header(top, config, theorem):  # type: ignore[no-untyped-def]
        raise ProcessTimeout("coqtop", config.start_timeout)

    monkeypatch.setattr(launch, "_load_header", slow_header)
    error = probe_failure(CoqBackendConfig(start_timeout=0.4))
    assert isinstance(error, BackendUnavailableError) and not isinstance(error, TheoremLoadError)
    assert error.reason.startswith("coqtop did not start within --coq-start-timeout 0.4 s")


def test_the_up_front_check_of_a_coqtop_that_dies_loading_its_settings_is_the_backends_error(
        tmp_path: Path) -> None:
    coqtop = dying_coqtop(tmp_path, "Printing Depth")  # the settings every coqtop loads, probe or not
    error = probe_failure(CoqBackendConfig(coqtop=str(coqtop), start_attempts=2, start_backoff=0.01))
    assert isinstance(error, BackendUnavailableError) and not isinstance(error, TheoremLoadError)
    assert error.reason.startswith("coqtop died while starting, loading the backend's imports and settings")


def test_the_up_front_check_of_an_import_whose_library_is_missing_is_the_backends_error() -> None:
    error = probe_failure(CoqBackendConfig(imports=("Require Import NoSuchLibraryAnywhere.",)))
    assert isinstance(error, BackendUnavailableError)  # exit 3: something is missing, not bad input
    assert error.reason.startswith("the backend's import 'Require Import NoSuchLibraryAnywhere.' needs the "
                                   "Coq library NoSuchLibraryAnywhere, which is not installed")
    assert error.fix is not None
    assert "install the Coq library that provides NoSuchLibraryAnywhere" in error.fix


def test_the_up_front_check_of_imports_coq_refuses_otherwise_names_them_and_the_options(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from search.backends.coq import launch

    monkeypatch.setattr(launch, "missing_library", lambda sentence, error: None)  # refused, not missing
    error = probe_failure(CoqBackendConfig(imports=("Require Import NoSuchLibraryAnywhere.",)))
    assert isinstance(error, BackendUnavailableError) and not isinstance(error, InputError)  # exit 3
    assert ("the backend's import 'Require Import NoSuchLibraryAnywhere.' fails without any theorem"
            in str(error))
    assert error.fix is not None and "--coq-imports" in error.fix


@pytest.mark.parametrize("command", ["prove", "sweep"])
def test_a_coq_without_coqhammer_exits_3_naming_the_package_to_install(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coq_library_fixtures import coqlib_without

    coq_args = ["--coq-coq-args", f"-coqlib {coqlib_without(tmp_path, 'Hammer')}"]  # no --policy: the default
    out = tmp_path / "out"
    argv = (["prove", "--backend", "coq", *coq_args, "Theorem t : 1 = 1."] if command == "prove" else
            ["sweep", "coq_basic", "--backend", "coq", *coq_args, "--split", "test", "--limit", "2",
             "--out", str(out)])
    code = main(argv)
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 3
    assert "needs the Coq library Hammer.Tactics, which is not installed" in err
    assert "`apt-get install libcoq-hammer`" in err and "prover doctor --backend coq" in err
    assert "theorem 't'" not in err and "--coq-imports" not in err and "Traceback" not in err
    assert not out.exists()
