"""Sweeps on a real two-node Ray cluster over scripted theorems."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sweep_fixtures import BackendFactory, policy_factory, scripted_spec, write_benchmark

from prover.sweep import SweepConfig, run_sweep
from search import SearchConfig

SEARCH = SearchConfig(max_expansions=20, time_limit=None)


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_sweep_over_two_nodes_reports_every_theorem(ray_cluster, tmp_path: Path) -> None:
    names = {f"p{i}": "provable" for i in range(6)} | {"u0": "unprovable", "u1": "unprovable",
                                                      "bad": "invalid"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    summary, paths = run_sweep(SweepConfig(attempts=2, workers=4, out=str(out)), benchmark=str(bench),
                               backend_factory=BackendFactory(names), policy_factory=policy_factory,
                               spec=scripted_spec(SEARCH))
    runs = records(out)
    per_theorem = Counter(r["theorem"] for r in runs)
    assert per_theorem == Counter({**{f"p{i}": 1 for i in range(6)}, "u0": 2, "u1": 2, "bad": 1})
    status = {r["theorem"]: r["status"] for r in runs}
    assert status["bad"] == "invalid" and status["u0"] == "unproved"
    assert all(status[f"p{i}"] == "proved" for i in range(6))
    assert summary.proved == 6 and summary.invalid == 1 and summary.pass_rate == pytest.approx(6 / 8)
    assert summary.pass_at == {1: pytest.approx(6 / 8), 2: pytest.approx(6 / 8)}
    assert len({r["worker"].split("@")[1] for r in runs}) == 2  # both nodes did work
    assert paths["plot"].stat().st_size > 1000
    assert "pass@2" in paths["markdown"].read_text()
    assert json.loads(paths["json"].read_text())["proved"] == 6


@pytest.mark.slow
def test_killed_worker_is_replaced_and_every_theorem_gets_one_result(ray_cluster, tmp_path: Path) -> None:
    names = {"p0": "provable", "k0": "killer", "p1": "provable", "p2": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    marker = str(tmp_path / "killed-once")
    summary, paths = run_sweep(SweepConfig(workers=2, out=str(out)), benchmark=str(bench),
                               backend_factory=BackendFactory(names, marker), policy_factory=policy_factory,
                               spec=scripted_spec(SEARCH))
    assert Path(marker).exists()  # the worker really died once
    assert summary.workers_replaced == 1
    assert "retried on replacement workers" in paths["markdown"].read_text()
    runs = records(out)
    assert Counter(r["theorem"] for r in runs) == Counter(names.keys())
    assert {r["theorem"]: r["status"] for r in runs}["k0"] == "proved"
    assert summary.proved == 4


def test_an_attempt_that_ended_in_an_error_is_no_verdict_and_a_resume_runs_it_again(
        ray_cluster, tmp_path: Path) -> None:
    """pass@N counts attempts that reached a verdict: after an error no next attempt runs in that sweep,
    and the resume runs the errored attempt itself, not the one after it."""
    names = {"k0": "killer", "p0": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    config = SweepConfig(workers=1, out=str(out), attempts=2, max_retries=0)
    factory = BackendFactory(names, str(tmp_path / "killed-once"))
    run_sweep(config, benchmark=str(bench), backend_factory=factory, policy_factory=policy_factory,
              spec=scripted_spec(SEARCH))
    assert [(r["attempt"], r["status"]) for r in records(out) if r["theorem"] == "k0"] == [(1, "error")]
    summary, _ = run_sweep(config, benchmark=str(bench), backend_factory=factory,
                           policy_factory=policy_factory, spec=scripted_spec(SEARCH))
    assert [(r["attempt"], r["status"]) for r in records(out) if r["theorem"] == "k0"] == [
        (1, "error"), (1, "proved")]
    k0 = next(t for t in summary.theorems if t.name == "k0")
    assert (k0.proved_at, k0.attempts) == (1, 1) and summary.pass_at[1] == 1.0


def test_a_resumed_folder_whose_error_a_next_attempt_followed_reruns_only_that_attempt(
        ray_cluster, tmp_path: Path) -> None:
    """Folders written before errors stopped a theorem's attempts may hold an error followed by the next
    attempt: the resume runs the attempt without a verdict, and not the next one again."""
    names = {"u0": "unprovable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    config = SweepConfig(workers=1, out=str(out), attempts=2)
    factory = BackendFactory(names)
    run_sweep(config, benchmark=str(bench), backend_factory=factory, policy_factory=policy_factory,
              spec=scripted_spec(SEARCH))
    results = out / "results.jsonl"
    older = [r | {"status": "error"} if r["attempt"] == 1 else r for r in records(out)]
    results.write_text("".join(json.dumps(r) + "\n" for r in older))
    run_sweep(config, benchmark=str(bench), backend_factory=factory, policy_factory=policy_factory,
              spec=scripted_spec(SEARCH))
    assert [(r["attempt"], r["status"]) for r in records(out)] == [(1, "error"), (2, "unproved"),
                                                                   (1, "unproved")]


@pytest.mark.slow
def test_driver_killed_with_sigkill_then_resumed(ray_cluster, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import sweep_fixtures

    count = 12
    names = {f"p{i}": "provable" for i in range(count)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    argv = [sys.executable, sweep_fixtures.__file__, ray_cluster.address, str(bench), str(out), str(count)]
    driver = subprocess.Popen(argv, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.exists() and len(results.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = records(out)
    assert 3 <= len(before) < count, "the driver should die part-way through"
    rerun = subprocess.run(argv, env=os.environ.copy(), stderr=subprocess.PIPE, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    after = records(out)
    assert after[: len(before)] == before  # nothing finished was lost or rewritten
    assert Counter(r["theorem"] for r in after) == Counter(names.keys())
    assert all(r["status"] == "proved" for r in after)


@pytest.mark.slow
def test_shared_cache_cuts_expansions_on_shared_subgoals(ray_cluster, tmp_path: Path) -> None:
    from sweep_fixtures import SharedFactory, shared_policy

    names = [f"s{i}" for i in range(6)]
    bench = write_benchmark(tmp_path / "bench.jsonl", dict.fromkeys(names, "provable"))
    totals = {}
    for shared in (False, True):
        out = tmp_path / f"out-{shared}"
        summary, paths = run_sweep(SweepConfig(workers=1, out=str(out), shared_cache=shared),
                                   benchmark=str(bench), backend_factory=SharedFactory(names),
                                   policy_factory=shared_policy, spec=scripted_spec(SEARCH))
        assert summary.proved == len(names)
        totals[shared] = sum(r["stats"]["expansions"] for r in records(out))
    assert totals[True] < totals[False] / 2
    assert summary.cache["search_hits"] == len(names) - 1
    assert "Shared proof cache" in paths["markdown"].read_text()


@pytest.mark.slow
def test_node_lost_mid_sweep_its_theorems_run_again_on_the_others(ray_cluster, tmp_path: Path) -> None:
    import threading
    import time
    from functools import partial

    from sweep_fixtures import NodeMarkingPolicy

    doomed = ray_cluster.add_node(num_cpus=2, object_store_memory=128 * 1024 * 1024)
    ray_cluster.wait_for_nodes()
    names = {f"p{i}": "provable" for i in range(18)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out, marks = tmp_path / "out", tmp_path / "nodes"
    marks.mkdir()
    outcome: dict = {}

    def sweep() -> None:  # six 1-CPU workers fill all three 2-CPU nodes: two run on the doomed one
        try:
            outcome["summary"], _ = run_sweep(
                SweepConfig(workers=6, out=str(out)), benchmark=str(bench),
                backend_factory=BackendFactory(names), spec=scripted_spec(SEARCH),
                policy_factory=partial(NodeMarkingPolicy, str(marks), 0.3))
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.monotonic() + 120
    while not (marks / doomed.node_id).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (marks / doomed.node_id).exists(), "no search ran on the added node"
    ray_cluster.remove_node(doomed, allow_graceful=False)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the sweep hung after losing a node"
    if "error" in outcome:
        raise outcome["error"]
    summary = outcome["summary"]
    assert summary.workers_replaced >= 1  # the doomed node's workers died with their searches in flight
    runs = records(out)
    assert Counter(r["theorem"] for r in runs) == Counter(names.keys())
    assert all(r["status"] == "proved" for r in runs) and summary.proved == len(names)


@pytest.mark.slow
def test_more_workers_than_the_cluster_has_cpus_still_finishes(ray_cluster, tmp_path: Path) -> None:
    names = {f"p{i}": "provable" for i in range(10)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    summary, _ = run_sweep(SweepConfig(workers=10, out=str(out), worker_start_timeout=60),
                           benchmark=str(bench), backend_factory=BackendFactory(names),
                           policy_factory=policy_factory, spec=scripted_spec(SEARCH))
    assert summary.proved == len(names)
    assert Counter(r["theorem"] for r in records(out)) == Counter(names.keys())


@pytest.mark.slow
def test_a_worker_no_node_can_hold_stops_the_sweep_with_a_clear_error(ray_cluster, tmp_path: Path) -> None:
    from prover.sweep import WorkerStartError

    names = {"p0": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    with pytest.raises(WorkerStartError, match="3 free CPUs"):
        run_sweep(SweepConfig(workers=1, worker_cpus=3, out=str(tmp_path / "out"), worker_start_timeout=2),
                  benchmark=str(bench), backend_factory=BackendFactory(names), policy_factory=policy_factory,
                  spec=scripted_spec(SEARCH))
    assert not (tmp_path / "out" / "results.jsonl").read_text()


@pytest.mark.slow
def test_a_model_that_cannot_load_stops_the_sweep_instead_of_failing_every_theorem(
        ray_cluster, tmp_path: Path) -> None:
    from sweep_fixtures import unloadable_policy

    from prover.policies.hf_policy_config import ModelLoadError

    names = {f"p{i}": "provable" for i in range(4)}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    with pytest.raises(ModelLoadError, match="weights are truncated"):
        run_sweep(SweepConfig(workers=2, out=str(tmp_path / "out")), benchmark=str(bench),
                  backend_factory=BackendFactory(names), policy_factory=unloadable_policy,
                  spec=scripted_spec(SEARCH))
    assert not (tmp_path / "out" / "results.jsonl").read_text()  # no theorem was marked as failed


@pytest.mark.slow
def test_a_resumed_sweep_keeps_the_shared_cache_of_the_run_before(ray_cluster, tmp_path: Path) -> None:
    from sweep_fixtures import SharedFactory, shared_policy

    names = [f"s{i}" for i in range(6)]
    bench = write_benchmark(tmp_path / "bench.jsonl", dict.fromkeys(names, "provable"))
    out = tmp_path / "out"
    for limit in (1, None):  # the first run stops after one theorem; the rerun does the rest
        summary, _ = run_sweep(SweepConfig(workers=1, out=str(out), limit=limit), benchmark=str(bench),
                               backend_factory=SharedFactory(names), policy_factory=shared_policy,
                               spec=scripted_spec(SEARCH))
    assert summary.proved == len(names)
    # every theorem after the first completed the shared subgoal from the cache, the first of the rerun too
    assert summary.cache["search_hits"] == len(names) - 1
    assert (out / "proof_cache.jsonl").stat().st_size > 0
