"""The sweep's memory budget: per-process limits x processes per worker x workers against the machine's
memory, checked before the sweep starts; too many workers are lowered (and said), too big a worker is an
input error."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.cli.main import main
from prover.sweep import SweepConfig
from prover.sweep import memory_budget as budget_module
from prover.sweep.memory_budget import apply_memory_budget, fit_workers, worker_memory_mb
from prover.theorem_input import InputError
from search.backends.coq import CoqBackendConfig
from search.backends.lean import LeanDojoConfig, LeanReplConfig


def test_a_workers_share_counts_every_process_it_may_run() -> None:
    assert worker_memory_mb("coq", CoqBackendConfig(memory_limit_mb=1000), sessions=1) == 2000  # + coqc
    assert worker_memory_mb("coq", CoqBackendConfig(memory_limit_mb=1000), sessions=3) == 4000
    assert worker_memory_mb("coq", CoqBackendConfig(memory_limit_mb=None), sessions=1) is None
    assert worker_memory_mb("repl", LeanReplConfig(memory_limit_mb=8000, pool_size=2), sessions=4) == 16000
    assert worker_memory_mb("repl", LeanReplConfig(memory_limit_mb=8000, verify_in_fresh_process=True),
                            sessions=1) == 16000
    assert worker_memory_mb("repl", LeanReplConfig(memory_limit_mb=None, address_space_limit_mb=3000),
                            sessions=1) == 3000
    assert worker_memory_mb("dojo", LeanDojoConfig(memory_limit_gb=8), sessions=2) == 3 * 8192


def test_workers_that_do_not_fit_are_lowered() -> None:
    budget = fit_workers(8, 3000, 10_000, "this machine")
    assert budget.workers == 3 and budget.lowered
    assert budget.message() == ("8 workers x 3000 MiB (the proof assistants' memory limits per worker) = "
                                "24000 MiB is more than the 10000 MiB of this machine; running 3 worker(s) "
                                "instead (lower the backend's memory limit to run more)")
    assert not fit_workers(3, 3000, 10_000, "this machine").lowered
    assert fit_workers(64, None, 1, "this machine").workers == 64  # no limit, nothing to check


def test_a_worker_bigger_than_the_machine_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"one search worker may use 20000 MiB .* more than the 16000 MiB"):
        fit_workers(1, 20_000, 16_000, "this machine")


def test_a_local_sweep_is_checked_against_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(budget_module, "cgroup_memory_mb", lambda: None)
    monkeypatch.setattr(budget_module, "machine_memory_mb", lambda: 9000)
    sweep, budget = apply_memory_budget(SweepConfig(workers=4), "coq", CoqBackendConfig(memory_limit_mb=1024),
                                        sessions=1)
    assert sweep.workers == 4 and not budget.lowered  # 4 x 2048 <= 9000
    sweep, budget = apply_memory_budget(SweepConfig(workers=4), "coq", CoqBackendConfig(memory_limit_mb=1024),
                                        sessions=2)
    assert sweep.workers == 2 and budget.lowered  # 4 x 3072 > 9000


def test_the_cli_refuses_a_worker_that_cannot_fit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "10000")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(budget_module, "cgroup_memory_mb", lambda: None)
    monkeypatch.setattr(budget_module, "machine_memory_mb", lambda: 6000)
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--coq-memory-limit-mb",
                 "4096", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "error: one search worker may use 8192 MiB under the proof assistants' memory limits, more than the "
        "6000 MiB of this machine: lower the backend's memory limit (e.g. --coq-memory-limit-mb, "
        "--repl-memory-limit-mb) or --sessions")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_cli_lowers_the_workers_and_says_so(ray_cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "10000")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(budget_module, "cgroup_memory_mb", lambda: None)
    monkeypatch.setattr(budget_module, "machine_memory_mb", lambda: 5000)
    code = main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--split", "test",
                 "--limit", "2", "--workers", "4", "--coq-memory-limit-mb", "1024", "--max-expansions", "8",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0
    assert ("memory: 4 workers x 2048 MiB (the proof assistants' memory limits per worker) = 8192 MiB is "
            "more than the 5000 MiB of this machine; running 2 worker(s) instead") in err


def test_backends_without_a_known_config_are_not_checked() -> None:
    assert worker_memory_mb("scripted", CoqBackendConfig(), sessions=1) is None
    assert worker_memory_mb("coq", None, sessions=1) is None


GIB = 1 << 30


def fake_cgroup(tmp_path: Path, files: dict[str, str], proc: str = "0::/\n") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "proc_cgroup").write_text(proc)
    return root, tmp_path / "proc_cgroup"


def test_the_cgroup_memory_limit_is_read_from_v2_and_v1_files(tmp_path: Path) -> None:
    cgroup = budget_module.cgroup_memory_mb
    assert cgroup(*fake_cgroup(tmp_path / "a", {"memory.max": str(16 * GIB)})) == 16 * 1024
    assert cgroup(*fake_cgroup(tmp_path / "b", {"memory.max": "max"})) is None
    unlimited = str((1 << 63) - 4096)  # what v1 writes for "no limit"
    assert cgroup(*fake_cgroup(tmp_path / "c", {"memory/memory.limit_in_bytes": unlimited})) is None
    assert cgroup(*fake_cgroup(tmp_path / "d", {"memory/memory.limit_in_bytes": str(8 * GIB)})) == 8 * 1024
    assert cgroup(*fake_cgroup(tmp_path / "e", {})) is None


def test_a_slurm_jobs_own_cgroup_below_the_root_is_found(tmp_path: Path) -> None:
    job = "system.slice/slurmstepd.scope/job_7"
    v2 = fake_cgroup(tmp_path / "v2", {"memory.max": "max", f"{job}/memory.max": str(16 * GIB),
                                       f"{job}/step_0/memory.max": "max"}, proc=f"0::/{job}/step_0\n")
    assert budget_module.cgroup_memory_mb(*v2) == 16 * 1024
    v1 = fake_cgroup(tmp_path / "v1", {"memory/slurm/uid_1/job_7/memory.limit_in_bytes": str(4 * GIB)},
                     proc="4:memory:/slurm/uid_1/job_7\n3:cpuset:/\n")
    assert budget_module.cgroup_memory_mb(*v1) == 4 * 1024


def test_a_local_sweep_fits_in_its_cgroup_limit_not_the_hosts_memory(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(budget_module, "machine_memory_mb", lambda: 512 * 1024)
    root, proc = fake_cgroup(tmp_path, {"memory.max": str(16 * GIB)})
    monkeypatch.setattr(budget_module, "CGROUP_ROOT", root)
    monkeypatch.setattr(budget_module, "PROC_CGROUP", proc)
    sweep, budget = apply_memory_budget(SweepConfig(workers=8), "coq", CoqBackendConfig(memory_limit_mb=2048),
                                        sessions=1)
    assert sweep.workers == 4 and budget.available_mb == 16 * 1024  # 8 x 4096 > 16384
    assert "is more than the 16384 MiB of this machine (cgroup limit 16.0 GiB); running 4 worker(s)" in (
        budget.message())
    monkeypatch.setattr(budget_module, "machine_memory_mb", lambda: 8 * 1024)  # the host is the smaller
    assert budget_module.local_memory() == (8 * 1024, "this machine")
