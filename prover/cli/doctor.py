"""``prover doctor``: what this machine has for proving, and the command that fixes each missing piece.

``doctor_report`` returns plain ``Check`` records (the CLI renders them); every probe of the machine
(``which``, running a command, the environment, module lookup, package versions, torch) goes through a
``Probes`` object so that tests fake the whole environment. Nothing is imported that has side effects:
``lean_dojo`` is looked up, never imported.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prover.cli.setup_lean import ELAN_INIT_URL, elan_bin_dir, read_toolchain
from prover.theorem_input import InputError
from search.backends.coq.launch import LIBRARY_PACKAGES
from search.backends.lean.dojo_process import run_process
from search.backends.lean.repl_config import default_project_dir


@dataclass(frozen=True)
class Check:
    """One line of the report: ``fix`` is the command that repairs a failed check (``None`` if none)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    optional: bool = False  # what the product runs without (a GPU): reported, not a failure


def _run_quick(argv: Sequence[str]) -> tuple[int | None, str]:
    """``(exit code, output)`` of a short command; ``(None, "")`` when it does not exist."""
    try:
        outcome = run_process(argv, timeout=30.0)
    except (FileNotFoundError, PermissionError):
        return None, ""
    return outcome.returncode, outcome.output


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch_probe() -> tuple[bool, str]:
    """``(CUDA usable, description)``; imports torch (slow, but without side effects)."""
    import torch

    if not torch.cuda.is_available():
        return False, f"torch {torch.__version__}, no CUDA device"
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return True, f"torch {torch.__version__}, CUDA {torch.version.cuda}: {names}"


@dataclass(frozen=True)
class Probes:
    """How the doctor looks at the machine; every field is replaceable in tests."""

    which: Callable[[str], str | None] = shutil.which
    run: Callable[[Sequence[str]], tuple[int | None, str]] = _run_quick
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    has_module: Callable[[str], bool] = _has_module
    version_of: Callable[[str], str | None] = _version_of
    torch_probe: Callable[[], tuple[bool, str]] = _torch_probe
    exists: Callable[[str], bool] = os.path.exists

    def tool(self, name: str) -> str | None:
        """``name`` on PATH, or in elan's bin directory."""
        found = self.which(name)
        if found:
            return found
        candidate = elan_bin_dir(self.env) / name
        return str(candidate) if candidate.exists() else None


BACKEND_NEEDS = {  # the checks each backend cannot run without (the others only widen what it can do)
    "coq": ("Coq", "CoqHammer"),  # CoqHammer: the default Coq tactic list loads it in every session
    "repl": ("elan", "lake", "Lean toolchain", "Mathlib build cache", "Lean REPL"),
    "dojo": ("elan", "Lean toolchain", "lean-dojo", "git"),
}


def backend_readiness(checks: Sequence[Check]) -> dict[str, tuple[str, ...]]:
    """Each backend's failed required checks (empty: the backend is ready)."""
    failed = {check.name for check in checks if not check.ok}
    return {backend: tuple(name for name in needs if name in failed)
            for backend, needs in BACKEND_NEEDS.items()}


def doctor_report(project_dir: Path | None = None, *, probes: Probes | None = None) -> list[Check]:
    """Every check, in the order a user fixes them: Lean toolchain, lean_project, LeanDojo, Coq, GPU."""
    project = (project_dir or default_project_dir()).resolve()
    probes = probes or Probes()
    default = project == default_project_dir().resolve()
    setup = "prover setup" if default else f"prover setup --project-dir {project}"
    lake_project = (project / "lean-toolchain").is_file()
    return [
        check_elan(probes), check_lake(probes, setup), check_toolchain(project, probes, setup),
        *((check_mathlib_cache(project), check_repl_binary(project)) if lake_project else
          (Check(name, False, f"no Lake project at {project} (no lean-toolchain file)", None)
           for name in ("Mathlib build cache", "Lean REPL"))),
        check_lean_dojo(probes), check_git(probes), check_lean_dojo_settings(probes),
        check_coq(probes), *(check_coq_library(probes, *library) for library in COQ_LIBRARIES),
        check_csdp(probes), check_torch(probes), check_cuda(probes), check_ray(probes),
    ]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def check_elan(probes: Probes) -> Check:
    fix = f"curl -sSfL {ELAN_INIT_URL} | sh -s -- -y --default-toolchain none"
    elan = probes.tool("elan")
    if elan is None:
        return Check("elan", False, "elan (the Lean toolchain manager) is not installed", fix)
    code, output = probes.run([elan, "--version"])
    return Check("elan", code == 0, _first_line(output) or f"{elan} does not run", None if code == 0 else fix)


def check_lake(probes: Probes, setup: str = "prover setup") -> Check:
    lake = probes.tool("lake")
    if lake is None:
        return Check("lake", False, "lake not found (it comes with every Lean toolchain)", setup)
    return Check("lake", True, lake)


def check_toolchain(project: Path, probes: Probes, setup: str = "prover setup") -> Check:
    """The toolchain ``lean_project/lean-toolchain`` pins must be installed (listed by elan; asking
    ``lean --version`` in the project would make elan download it)."""
    try:
        wanted = read_toolchain(project)
    except InputError:  # no Lake project there: reported, with the rest
        return Check("Lean toolchain", False, f"{project}/lean-toolchain is missing", None)
    fix = f"elan toolchain install {wanted}"
    elan = probes.tool("elan")
    if elan is None:
        return Check("Lean toolchain", False, f"{wanted} needed; elan is missing", setup)
    _, output = probes.run([elan, "toolchain", "list"])
    installed = [line.split()[0] for line in output.splitlines() if line.strip().startswith("leanprover/")]
    if wanted in installed:
        return Check("Lean toolchain", True, f"{wanted} installed")
    others = ", ".join(installed) or "none"
    return Check("Lean toolchain", False, f"{wanted} not installed (installed: {others})", fix)


def check_mathlib_cache(project: Path) -> Check:
    mathlib = project / ".lake" / "packages" / "mathlib"
    fix = f"cd {project} && lake exe cache get"
    for olean in (mathlib / ".lake/build/lib/lean/Mathlib.olean", mathlib / ".lake/build/lib/Mathlib.olean"):
        if olean.exists():
            return Check("Mathlib build cache", True, str(olean.parent))
    if mathlib.exists():
        return Check("Mathlib build cache", False, f"Mathlib sources in {mathlib}, no build", fix)
    return Check("Mathlib build cache", False, f"Mathlib not fetched into {project}/.lake", fix)


def check_repl_binary(project: Path) -> Check:
    packages = project / ".lake" / "packages"
    candidates = [packages / name / ".lake/build/bin/repl" for name in ("REPL", "repl")]
    found = next((path for path in candidates if path.exists()), None)
    if found is not None:
        return Check("Lean REPL", True, str(found))
    return Check("Lean REPL", False, "the REPL executable is not built", f"cd {project} && lake build repl")


def check_lean_dojo(probes: Probes) -> Check:
    if not probes.has_module("lean_dojo"):
        return Check("lean-dojo", False, "not installed (needed only by --backend dojo)",
                     "pip install lean-dojo")
    version = probes.version_of("lean-dojo") or "unknown version"
    return Check("lean-dojo", True, f"lean-dojo {version} (its Dojo is verified on Lean v4.20.0)")


def check_git(probes: Probes) -> Check:
    """LeanDojo asserts git >= 2.25 when it is imported (and clones repositories with it)."""
    code, output = probes.run(["git", "--version"])
    match = re.search(r"(\d+)\.(\d+)", output)
    if code != 0 or match is None:
        return Check("git", False, "git not found (LeanDojo needs git >= 2.25)", "apt-get install git")
    version = (int(match.group(1)), int(match.group(2)))
    ok = version >= (2, 25)
    return Check("git", ok, _first_line(output), None if ok else "install git >= 2.25")


def check_lean_dojo_settings(probes: Probes) -> Check:
    """LeanDojo's environment: TMP_DIR must exist, and offline (DISABLE_REMOTE_CACHE) a
    GITHUB_ACCESS_TOKEN makes ``import lean_dojo`` call the GitHub API and fail."""
    env = probes.env
    cache = env.get("CACHE_DIR", "~/.cache/lean_dojo (default)")
    tmp = env.get("TMP_DIR")
    offline = "DISABLE_REMOTE_CACHE" in env
    token = bool(env.get("GITHUB_ACCESS_TOKEN"))
    flags = {True: "set", False: "unset"}
    detail = (f"CACHE_DIR={cache}, TMP_DIR={tmp or '(unset)'}, DISABLE_REMOTE_CACHE={flags[offline]}, "
              f"GITHUB_ACCESS_TOKEN={flags[token]}")
    if tmp and not Path(tmp).is_dir():
        return Check("lean-dojo settings", False, detail + "; TMP_DIR does not exist", f"mkdir -p {tmp}")
    if offline and token:
        return Check("lean-dojo settings", False, detail + "; offline use needs the token unset",
                     "unset GITHUB_ACCESS_TOKEN")
    return Check("lean-dojo settings", True, detail)


# (check name, Debian package, a path under `coqc -where` it installs, what needs it)
COQ_LIBRARIES = (
    ("Coq stdlib sources", "libcoq-stdlib", "theories/Init/Prelude.v",
     "prover trace's default input and the stdlib benchmark"),
    *((*LIBRARY_PACKAGES[root], f"user-contrib/{root}", need) for root, need in (
        ("Coquelicot", "miniF2F-rocq's headers (real and complex analysis)"),
        ("Hammer", "the Coq tactic policy's sauto and hauto"))),
)


def debian_version(probes: Probes, package: str) -> str | None:
    """The installed version of a Debian package, or None (not installed, or no dpkg)."""
    code, output = probes.run(["dpkg-query", "-W", "-f=${Version}", package])
    version = output.strip()
    return version if code == 0 and version and " " not in version else None


def check_coq(probes: Probes) -> Check:
    code, output = probes.run(["coqtop", "-v"])
    match = re.search(r"version\s+(\S+)", output)
    if code == 0 and match:
        package = debian_version(probes, "coq")
        debian = f" (Debian coq {package})" if package else ""
        coqc_code, coqc_output = probes.run(["coqc", "-v"])
        if coqc_code != 0 or match.group(1) not in coqc_output:
            detail = (f"coqtop {match.group(1)} runs, but not a coqc of the same version (the Coq backend "
                      "checks every proof with coqc)")
            return Check("Coq", False, detail, "apt-get install coq")
        return Check("Coq", True, f"coqtop {match.group(1)}{debian}")
    return Check("Coq", False, "coqtop not found (the Coq backend needs it)", "apt-get install coq")


def check_coq_library(probes: Probes, name: str, package: str, folder: str, purpose: str) -> Check:
    """A Coq library: its Debian package's version, else its files under Coq's own folder."""
    version = debian_version(probes, package)
    if version is not None:
        return Check(name, True, f"{package} {version}")
    code, where = probes.run(["coqc", "-where"])
    path = f"{where.strip()}/{folder}"
    if code == 0 and where.strip() and probes.exists(path):
        return Check(name, True, f"{path} (not from a Debian package: version unknown)")
    return Check(name, False, f"not installed (needed by {purpose})", f"apt-get install {package}")


def check_csdp(probes: Probes) -> Check:
    """CSDP, the external solver Coq's ``psatz`` calls (the tactic policy proposes it)."""
    found = probes.which("csdp")
    if found is None:
        return Check("CSDP", False, "csdp not found (Coq's psatz needs it)", "apt-get install coinor-csdp")
    version = debian_version(probes, "coinor-csdp")
    return Check("CSDP", True, f"{found}" + (f" (coinor-csdp {version})" if version else ""))


def check_torch(probes: Probes) -> Check:
    if not probes.has_module("torch"):
        return Check("torch", False, "not installed (needed by the model policies)", "pip install torch")
    return Check("torch", True, f"torch {probes.version_of('torch') or 'unknown version'}")


def check_cuda(probes: Probes) -> Check:
    if not probes.has_module("torch"):
        return Check("CUDA", False, "torch is not installed", "pip install torch")
    usable, detail = probes.torch_probe()
    fix = None if usable else "install a CUDA build of torch and check the driver with nvidia-smi"
    return Check("CUDA", usable, detail + ("" if usable else " (optional: search, sweeps and the retrieval "
                                                            "policy run on the CPU)"), fix, optional=True)


def check_ray(probes: Probes) -> Check:
    if not probes.has_module("ray"):
        return Check("ray", False, "not installed (needed by sweeps)", "pip install 'ray[default]'")
    return Check("ray", True, f"ray {probes.version_of('ray') or 'unknown version'}")
