"""A sweep folder records its configuration; a resume with another one is refused, naming the keys; the
typed spec is what each worker is started with."""

from __future__ import annotations

import json
import pickle
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, HEADER, chain_world, script_config
from scripted import THEOREM, ScriptedBackend, ScriptedPolicy
from sweep_fixtures import POLICY_TACTICS, provable, scripted_spec

from prover.cli.config_file import read_config_file
from prover.cli.main import main
from prover.run_spec import DriverConfig, RunSpec, flatten
from prover.sweep import SearchWorker, SweepConfig, Task
from prover.sweep.manifest import CONFIG_FILE, MANIFEST, ConfigMismatchError, check_manifest
from prover.sweep.runner import sweep_tables
from prover.sweep.worker import WorkerSetup
from prover.theorem_input import InputError
from search import SearchConfig

SEARCH = SearchConfig(max_expansions=20, time_limit=None)


def manifest(spec: RunSpec, **sweep: Any) -> dict[str, Any]:
    return {"benchmark": "b.jsonl", "config": flatten(sweep_tables(spec, SweepConfig(**sweep)))}


def test_a_resume_with_another_configuration_is_refused_naming_each_key(tmp_path: Path) -> None:
    spec = scripted_spec(SEARCH)
    check_manifest(tmp_path, manifest(spec, workers=2), "# config\n")
    assert (tmp_path / CONFIG_FILE).read_text() == "# config\n"
    other = replace(spec, search=replace(SEARCH, max_expansions=30, alpha=1.0))
    with pytest.raises(ConfigMismatchError) as caught:
        check_manifest(tmp_path, manifest(other, workers=2, split="test"))
    assert caught.value.keys == ("search.alpha", "search.max_expansions", "sweep.split")
    assert isinstance(caught.value, InputError)  # exit 2 at the command line
    message = str(caught.value)
    assert "search.alpha: 2.0 there, 1.0 now; search.max_expansions: 20 there, 30 now" in message
    assert f"--config {tmp_path / CONFIG_FILE}" in message  # how to resume it as it was
    # settings that do not change results may change: workers, attempts, sessions, the policy servers
    check_manifest(tmp_path, manifest(replace(spec, driver=DriverConfig(sessions=2)), workers=6, attempts=3))


def test_a_folder_written_before_configurations_were_recorded_resumes(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"benchmark": "b.jsonl", "split": None, "backend": "repl",
                                                  "search": {"alpha": 2.0}, "planner": None}))
    spec = scripted_spec(SEARCH)
    new = manifest(spec) | {"split": None, "backend": "repl", "search": {"alpha": 2.0}, "planner": None}
    check_manifest(tmp_path, new)  # the keys it holds agree
    assert json.loads((tmp_path / MANIFEST).read_text())["config"] == new["config"]  # from now on, all
    with pytest.raises(ConfigMismatchError, match=r"search\.max_expansions: 20 there, 5 now"):
        check_manifest(tmp_path, manifest(replace(spec, search=replace(SEARCH, max_expansions=5))))


def test_a_resume_may_start_the_proof_assistant_more_patiently(tmp_path: Path) -> None:
    """Start-up settings end in an error record or the sweep's end, never a verdict: a resume may change
    them. A tactic's deadline (``kill_grace``) and the REPL's import limit are compared."""
    from prover.backends import BackendSettings
    from search.backends.coq import CoqBackendConfig
    from search.backends.lean import LeanReplConfig

    def coq(**settings: Any) -> dict[str, Any]:
        backend = BackendSettings("coq", CoqBackendConfig(**settings))
        return manifest(replace(scripted_spec(SEARCH), backend=backend))

    def repl(**settings: Any) -> dict[str, Any]:
        backend = BackendSettings("repl", LeanReplConfig(**settings))
        return manifest(replace(scripted_spec(SEARCH), backend=backend))

    check_manifest(tmp_path / "coq", coq())
    check_manifest(tmp_path / "coq", coq(start_timeout=240.0, start_attempts=9, start_backoff=1.5))
    with pytest.raises(ConfigMismatchError) as caught:
        check_manifest(tmp_path / "coq", coq(kill_grace=10.0))
    assert caught.value.keys == ("coq.kill_grace",)
    check_manifest(tmp_path / "repl", repl())
    check_manifest(tmp_path / "repl", repl(start_attempts=9, start_backoff=1.5))
    with pytest.raises(ConfigMismatchError) as caught:
        check_manifest(tmp_path / "repl", repl(import_timeout=60.0))
    assert caught.value.keys == ("repl.import_timeout",)


def test_a_setting_retired_since_the_folder_was_written_is_not_compared(tmp_path: Path) -> None:
    spec = scripted_spec(SEARCH)
    old = manifest(spec)
    old["config"] |= {"repl.tactic_timeout": 12.0}  # what folders held before --tactic-timeout alone set it
    check_manifest(tmp_path, old)
    check_manifest(tmp_path, manifest(spec))


def test_a_worker_is_started_with_the_typed_spec_and_runs_by_it() -> None:
    spec = replace(scripted_spec(replace(SEARCH, max_expansions=1, expansion_width=2, time_limit=30.0)),
                   driver=DriverConfig(sessions=2))
    backend = ScriptedBackend(provable(3))
    setup = WorkerSetup.of(spec, backend=lambda: backend,
                           policy=lambda: ScriptedPolicy({}, default=lambda state: list(POLICY_TACTICS)))
    assert WorkerSetup.of(spec).backend == spec.backend and WorkerSetup.of(spec).policy == spec.policy
    shipped = pickle.loads(pickle.dumps(WorkerSetup.of(spec)))  # what Ray sends each actor
    assert isinstance(shipped.spec, RunSpec) and shipped.spec == spec
    worker = SearchWorker(setup)
    assert isinstance(worker.setup.spec, RunSpec)
    record = worker.run(Task(THEOREM, "test", 1))
    assert record["stats"]["expansions"] == 1 and record["stop_reason"] == "expansion_budget"  # its search
    assert len(backend.sessions) == 2  # its driver: two sessions, the overlapped driver


def repl_sweep(tmp_path: Path, out: Path, *extra: str) -> int:
    rows = [{"name": "chain", "split": "test", "header": HEADER, "statement": CHAIN_STATEMENT}]
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = script_config(tmp_path, chain_world(2))
    return main(["sweep", str(bench), "--out", str(out), "--policy", "tactics", "--tactics",
                 "split,left,right,step", "--time-limit", "60", "--backend", "repl", "--repl-project-dir",
                 config.project_dir, "--repl-command", shlex.join(config.command), *extra])


@pytest.mark.slow
def test_prover_sweep_stores_its_configuration_and_refuses_another(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert repl_sweep(tmp_path, out, "--workers", "1", "--max-expansions", "20") == 0
    stored = read_config_file(out / CONFIG_FILE, "sweep")  # a config file the sweep command reads
    assert stored["max_expansions"] == 20 and stored["tactics_list"] == ("split", "left", "right", "step")
    capsys.readouterr()
    assert repl_sweep(tmp_path, out, "--workers", "1", "--max-expansions", "30", "--alpha", "1") == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: {out} holds a sweep with another configuration (search.alpha: 2.0 "
                            "there, 1.0 now; search.max_expansions: 20 there, 30 now)")
    assert repl_sweep(tmp_path, out, "--workers", "2", "--config", str(out / CONFIG_FILE)) == 0  # resumes
    assert f"resuming {out}: " in " ".join(capsys.readouterr().err.split())  # and says so
