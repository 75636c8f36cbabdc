"""``prover doctor`` and ``prover setup`` against faked machines: no Lean, no network, no real installs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from prover.cli.doctor import Check, Probes, backend_readiness, doctor_report
from prover.cli.setup_lean import ELAN_INIT_URL, SetupError, SetupStep, setup_lean, setup_plan
from search.backends.lean.dojo_process import ProcessOutcome

REPO_PROJECT = Path(__file__).resolve().parents[3] / "lean_project"
TOOLCHAIN = "leanprover/lean4:v4.24.0"


def make_project(root: Path, *, mathlib: bool = False, repl: bool = False, manifest: bool = False) -> Path:
    project = root / "lean_project"
    project.mkdir()
    (project / "lean-toolchain").write_text(TOOLCHAIN + "\n")
    if manifest:
        (project / "lake-manifest.json").write_text("{}")
    packages = project / ".lake" / "packages"
    if mathlib:
        olean = packages / "mathlib" / ".lake/build/lib/lean/Mathlib.olean"
        olean.parent.mkdir(parents=True)
        olean.write_bytes(b"")
    if repl:
        binary = packages / "REPL" / ".lake/build/bin/repl"
        binary.parent.mkdir(parents=True)
        binary.write_bytes(b"")
    return project


Run = Callable[[Sequence[str]], tuple[int | None, str]]


def commands(outputs: Mapping[str, tuple[int | None, str]]) -> Run:
    """A fake ``run``: the output recorded for the command (its program named without directory)."""

    def run(argv: Sequence[str]) -> tuple[int | None, str]:
        return outputs.get(" ".join([Path(argv[0]).name, *argv[1:]]), (None, ""))
    return run


def bare_machine(home: Path) -> Probes:
    return Probes(which=lambda name: None, run=commands({}), env={"HOME": str(home)},
                  has_module=lambda name: False, version_of=lambda name: None,
                  torch_probe=lambda: (False, "no torch"))


def full_machine(home: Path, tmp: Path) -> Probes:
    outputs = {
        "elan --version": (0, "elan 4.1.2 (58e8d545e 2025-05-26)\n"),
        "elan toolchain list": (0, f"installed toolchains\n--------------------\n\n{TOOLCHAIN} (default)\n"),
        "coqtop -v": (0, "The Coq Proof Assistant, version 8.16.1\ncompiled with OCaml 4.14.1\n"),
        "coqc -v": (0, "The Coq Proof Assistant, version 8.16.1\ncompiled with OCaml 4.14.1\n"),
        "git --version": (0, "git version 2.39.5\n"),
        "dpkg-query -W -f=${Version} coq": (0, "8.16.1+dfsg-1+b2"),
        "dpkg-query -W -f=${Version} libcoq-coquelicot": (0, "3.2.0-8+b1"),
        "dpkg-query -W -f=${Version} libcoq-hammer": (0, "1.3.2+8.16-2+b1"),
        "dpkg-query -W -f=${Version} coinor-csdp": (0, "6.2.0-4+b1"),
        "dpkg-query -W -f=${Version} libcoq-stdlib": (0, "8.16.1+dfsg-1+b2"),
    }
    env = {"HOME": str(home), "TMP_DIR": str(tmp), "DISABLE_REMOTE_CACHE": "1"}
    versions = {"lean-dojo": "4.20.0", "torch": "2.5.1", "ray": "2.40.0"}
    tools = {"elan": "/opt/elan/bin/elan", "lake": "/opt/elan/bin/lake", "csdp": "/usr/bin/csdp"}
    return Probes(which=tools.get,
                  run=commands(outputs), env=env, has_module=lambda name: True, version_of=versions.get,
                  torch_probe=lambda: (True, "torch 2.5.1, CUDA 12.4: NVIDIA H100"))


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_fully_set_up_machine_passes_every_check(tmp_path: Path) -> None:
    project = make_project(tmp_path, mathlib=True, repl=True)
    checks = doctor_report(project, probes=full_machine(tmp_path, tmp_path))
    assert [c.name for c in checks] == [
        "elan", "lake", "Lean toolchain", "Mathlib build cache", "Lean REPL", "lean-dojo", "git",
        "lean-dojo settings", "Coq", "Coq stdlib sources", "Coquelicot", "CoqHammer", "CSDP", "torch", "CUDA",
        "ray"]
    assert all(c.ok and c.fix is None for c in checks), [c for c in checks if not c.ok]
    found = by_name(checks)
    assert "8.16.1" in found["Coq"].detail and "4.20.0" in found["lean-dojo"].detail
    assert found["Coq"].detail == "coqtop 8.16.1 (Debian coq 8.16.1+dfsg-1+b2)"
    assert found["Coquelicot"].detail == "libcoq-coquelicot 3.2.0-8+b1"
    assert found["CoqHammer"].detail == "libcoq-hammer 1.3.2+8.16-2+b1"
    assert found["CSDP"].detail == "/usr/bin/csdp (coinor-csdp 6.2.0-4+b1)"
    assert "H100" in found["CUDA"].detail and TOOLCHAIN in found["Lean toolchain"].detail


def test_a_bare_machine_fails_every_check_with_a_fix(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    checks = by_name(doctor_report(project, probes=bare_machine(tmp_path)))
    failed = {name for name, check in checks.items() if not check.ok}
    assert failed == {"elan", "lake", "Lean toolchain", "Mathlib build cache", "Lean REPL", "lean-dojo",
                      "git", "Coq", "Coq stdlib sources", "Coquelicot", "CoqHammer", "CSDP", "torch", "CUDA",
                      "ray"}
    assert checks["Coq stdlib sources"].fix == "apt-get install libcoq-stdlib"
    assert ELAN_INIT_URL in (checks["elan"].fix or "")
    assert checks["Mathlib build cache"].fix == f"cd {project} && lake exe cache get"
    assert checks["Lean REPL"].fix == f"cd {project} && lake build repl"
    assert checks["Coq"].fix == "apt-get install coq"
    assert checks["Coquelicot"].fix == "apt-get install libcoq-coquelicot"
    assert checks["CoqHammer"].fix == "apt-get install libcoq-hammer"
    assert checks["CSDP"].fix == "apt-get install coinor-csdp"
    assert checks["lean-dojo settings"].ok  # nothing set is a valid (online) configuration


def test_coq_libraries_without_dpkg_are_found_in_coqs_own_folder(tmp_path: Path) -> None:
    contrib = tmp_path / "coq" / "user-contrib"
    (contrib / "Hammer").mkdir(parents=True)
    probes = replace(bare_machine(tmp_path), run=commands({"coqc -where": (0, f"{tmp_path / 'coq'}\n")}))
    checks = by_name(doctor_report(make_project(tmp_path), probes=probes))
    assert checks["CoqHammer"].ok and "version unknown" in checks["CoqHammer"].detail
    assert not checks["Coquelicot"].ok and checks["Coquelicot"].fix == "apt-get install libcoq-coquelicot"


def test_elan_in_its_home_directory_is_found_without_path(tmp_path: Path) -> None:
    elan = tmp_path / ".elan" / "bin" / "elan"
    elan.parent.mkdir(parents=True)
    elan.write_text("")
    probes = replace(bare_machine(tmp_path), run=commands({"elan --version": (0, "elan 4.1.2\n")}))
    assert by_name(doctor_report(make_project(tmp_path), probes=probes))["elan"].ok


def test_a_wrong_toolchain_is_reported_with_the_install_command(tmp_path: Path) -> None:
    probes = replace(full_machine(tmp_path, tmp_path),
                     run=commands({"elan toolchain list": (0, "leanprover/lean4:v4.20.0 (default)\n")}))
    check = by_name(doctor_report(make_project(tmp_path), probes=probes))["Lean toolchain"]
    assert not check.ok and "v4.20.0" in check.detail and check.fix == f"elan toolchain install {TOOLCHAIN}"


@pytest.mark.parametrize(("env", "fix"), [
    ({"TMP_DIR": "/no/such/dir"}, "mkdir -p /no/such/dir"),
    ({"DISABLE_REMOTE_CACHE": "1", "GITHUB_ACCESS_TOKEN": "ghp_x"}, "unset GITHUB_ACCESS_TOKEN"),
])
def test_lean_dojo_settings_that_break_offline_use(tmp_path: Path, env: dict[str, str], fix: str) -> None:
    probes = replace(bare_machine(tmp_path), env=env)
    check = by_name(doctor_report(make_project(tmp_path), probes=probes))["lean-dojo settings"]
    assert not check.ok and check.fix == fix


def test_an_old_git_is_reported(tmp_path: Path) -> None:
    probes = replace(bare_machine(tmp_path), run=commands({"git --version": (0, "git version 2.17.1\n")}))
    check = by_name(doctor_report(make_project(tmp_path), probes=probes))["git"]
    assert not check.ok and "2.17.1" in check.detail and check.fix == "install git >= 2.25"


def test_mathlib_sources_without_build_are_not_a_cache(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    check = by_name(doctor_report(project, probes=bare_machine(tmp_path)))["Mathlib build cache"]
    assert not check.ok and "no build" in check.detail


# -- prover setup ------------------------------------------------------------------------------------------

def test_the_repository_project_pins_lean_mathlib_and_the_repl() -> None:
    assert (REPO_PROJECT / "lean-toolchain").read_text().strip() == TOOLCHAIN
    lakefile = (REPO_PROJECT / "lakefile.toml").read_text()
    assert 'rev = "f897ebcf72cd16f89ab4577d0c826cd14afaafc7"' in lakefile
    assert 'git = "https://github.com/leanprover-community/repl"\nrev = "v4.24.0"' in lakefile


def test_dry_run_on_a_bare_machine_plans_every_step(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    steps = setup_lean(project, dry_run=True, which=lambda name: None, env={"HOME": str(tmp_path)})
    elan, lake = str(tmp_path / ".elan/bin/elan"), str(tmp_path / ".elan/bin/lake")
    assert [s.argv for s in steps] == [
        ("bash", "-c",
         f"set -euo pipefail; curl -sSfL {ELAN_INIT_URL} | sh -s -- -y --default-toolchain none"),
        (elan, "toolchain", "install", TOOLCHAIN), (lake, "update"), (lake, "exe", "cache", "get"),
        (lake, "build", "repl"), (lake, "build"),
    ]
    assert all(s.cwd == str(project.resolve()) for s in steps[2:])
    assert steps[3].command == f"cd {project.resolve()} && {lake} exe cache get"


def test_plan_skips_what_is_already_there(tmp_path: Path) -> None:
    project = make_project(tmp_path, manifest=True)
    steps = setup_plan(project, which=lambda name: f"/usr/bin/{name}", env={})
    assert [s.name for s in steps] == ["install the Lean toolchain", "fetch Mathlib's build cache",
                                       "build the REPL", "check that Mathlib loads"]


def test_setup_runs_each_step_with_elan_on_path_and_stops_at_a_failure(tmp_path: Path) -> None:
    project = make_project(tmp_path, manifest=True)
    seen: list[tuple[SetupStep, str]] = []

    def runner(step: SetupStep, env: Mapping[str, str]) -> ProcessOutcome:
        seen.append((step, env["PATH"]))
        failed = step.argv[-1] == "repl"
        output = "building...\nerror: REPL/Main.lean: bad" if failed else "ok"
        return ProcessOutcome(output, "", 1 if failed else 0, False)

    env = {"HOME": str(tmp_path), "PATH": "/usr/bin"}
    with pytest.raises(SetupError) as caught:
        setup_lean(project, which=lambda name: "/usr/bin/" + name, env=env, runner=runner)
    assert [s.name for s, _ in seen] == ["install the Lean toolchain", "fetch Mathlib's build cache",
                                         "build the REPL"]
    assert seen[0][1] == f"{tmp_path / '.elan/bin'}:/usr/bin"
    error = caught.value
    assert error.returncode == 1 and "lake build repl" in str(error) and "REPL/Main.lean: bad" in str(error)


def test_a_step_past_its_deadline_or_missing_is_a_setup_error(tmp_path: Path) -> None:
    project = make_project(tmp_path, manifest=True)
    timed_out = lambda step, env: ProcessOutcome("", "", None, True)  # noqa: E731
    with pytest.raises(SetupError, match="timed out"):
        setup_lean(project, which=lambda name: name, env={}, runner=timed_out)

    def missing(step: SetupStep, env: Mapping[str, str]) -> ProcessOutcome:
        raise FileNotFoundError(step.argv[0])

    with pytest.raises(SetupError, match="command not found"):
        setup_lean(project, which=lambda name: name, env={}, runner=missing)


def test_coq_without_its_coqc_fails_and_setup_advice_names_the_project(tmp_path: Path) -> None:
    machine = full_machine(tmp_path, tmp_path)
    no_coqc = replace(machine,
                      run=lambda argv: (None, "") if Path(argv[0]).name == "coqc" else machine.run(argv))
    coq = by_name(doctor_report(make_project(tmp_path), probes=no_coqc))["Coq"]
    assert not coq.ok and "coqc" in coq.detail and coq.fix == "apt-get install coq"
    bare = by_name(doctor_report(tmp_path / "lean_project", probes=bare_machine(tmp_path)))
    assert bare["lake"].fix == f"prover setup --project-dir {tmp_path / 'lean_project'}"


def test_a_folder_with_no_lake_project_gets_no_commands_to_run_in_it(tmp_path: Path) -> None:
    checks = by_name(doctor_report(tmp_path / "nowhere", probes=bare_machine(tmp_path)))
    for name in ("Mathlib build cache", "Lean REPL"):
        assert not checks[name].ok and checks[name].fix is None
        assert checks[name].detail == f"no Lake project at {tmp_path / 'nowhere'} (no lean-toolchain file)"


def test_each_backend_is_ready_or_names_what_it_needs(tmp_path: Path) -> None:
    machine = full_machine(tmp_path, tmp_path)
    coq_only = replace(machine, which=lambda name: None, has_module=lambda name: False)
    readiness = backend_readiness(doctor_report(make_project(tmp_path), probes=coq_only))
    assert readiness["coq"] == ()
    assert readiness["repl"] == ("elan", "lake", "Lean toolchain", "Mathlib build cache", "Lean REPL")
    assert readiness["dojo"] == ("elan", "Lean toolchain", "lean-dojo")


def test_the_coq_backend_is_not_ready_without_coqhammer_its_default_policy_loads(tmp_path: Path) -> None:
    machine = full_machine(tmp_path, tmp_path)
    no_hammer = replace(machine, run=lambda argv: (1, "") if "libcoq-hammer" in argv else machine.run(argv))
    checks = doctor_report(make_project(tmp_path), probes=no_hammer)  # and no `coqc -where` folder holds it
    assert not by_name(checks)["CoqHammer"].ok
    assert backend_readiness(checks)["coq"] == ("CoqHammer",)
