"""pass@N on a real Ray cluster: every attempt of a theorem searches, and failures are reused only under
the policy and budget they were found with."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from sweep_fixtures import BackendFactory, SamplingPolicy, fixed_policy, scripted_spec, write_benchmark

from prover.sweep import SweepConfig, run_sweep
from prover.sweep.shared_cache import JOURNAL, JournaledProofCache
from search import FailureScope, SearchConfig, goal_key

SEARCH = SearchConfig(max_expansions=20, time_limit=None)


def runs(folder: Path) -> dict[tuple[str, int], dict]:
    lines = (folder / "results.jsonl").read_text().splitlines()
    return {(r["theorem"], r["attempt"]): r for r in map(json.loads, lines)}


@pytest.mark.slow
def test_the_second_attempt_searches_again_and_can_succeed(ray_cluster, tmp_path: Path) -> None:
    names = {"u0": "unprovable", "lucky": "lucky"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    summary, _ = run_sweep(SweepConfig(attempts=2, workers=1, out=str(out)), benchmark=str(bench),
                           backend_factory=BackendFactory(names), policy_factory=SamplingPolicy,
                           spec=scripted_spec(SEARCH))
    done = runs(out)
    first, second = done[("u0", 1)]["stats"], done[("u0", 2)]["stats"]
    assert first["expansions"] == 2 and first["cache_skips"] == 0
    assert second["expansions"] == 2 and second["cache_skips"] == 0  # a full search, not a cache skip
    assert done[("lucky", 1)]["status"] == "unproved" and done[("lucky", 2)]["status"] == "proved"
    assert summary.pass_at == {1: pytest.approx(0.0), 2: pytest.approx(0.5)}


@pytest.mark.slow
def test_a_deterministic_policy_expands_the_root_again_and_skips_known_failures_below(
        ray_cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    names = {"u0": "unprovable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="prover.sweep.runner"):
        run_sweep(SweepConfig(attempts=2, workers=1, out=str(out)), benchmark=str(bench),
                  backend_factory=BackendFactory(names), policy_factory=fixed_policy,
                  spec=scripted_spec(SEARCH))
    assert "--attempts 2 with a deterministic policy (tactics:built-in)" in caplog.text  # the spec's list
    done = runs(out)
    assert done[("u0", 1)]["stats"]["expansions"] == 2
    second = done[("u0", 2)]["stats"]
    assert (second["expansions"], second["cache_skips"]) == (1, 1)  # the root, then g1's known failure


@pytest.mark.slow
@pytest.mark.parametrize(("journal_max_expansions", "searched_again"), [(5, True), (20, False)])
def test_a_resumed_sweep_searches_again_where_its_journal_failed_under_a_smaller_budget(
        ray_cluster, tmp_path: Path, journal_max_expansions: int, searched_again: bool) -> None:
    names = {"p": "provable"}  # g0 -step-> g1 -fin-> QED
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    out.mkdir()
    # the folder's journal, left by an earlier run, says g1 failed (a search with a smaller budget can)
    earlier = FailureScope.of(replace(SEARCH, max_expansions=journal_max_expansions),
                              fixed_policy().fingerprint)
    JournaledProofCache(str(out / JOURNAL)).publish_failure(goal_key("g1").key, earlier, 1)
    summary, _ = run_sweep(SweepConfig(workers=1, out=str(out)), benchmark=str(bench),
                           backend_factory=BackendFactory(names), policy_factory=fixed_policy,
                           spec=scripted_spec(SEARCH))
    record = runs(out)[("p", 1)]
    if searched_again:  # found under 5 expansions, now 20: the failure does not hold, g1 is expanded
        assert record["status"] == "proved" and record["stats"]["cache_skips"] == 0
    else:  # found under the same budget and policy: reused, g1 is skipped and the theorem stays unproved
        assert record["status"] == "unproved" and record["stats"]["cache_skips"] == 1
    assert summary.proved == int(searched_again)
